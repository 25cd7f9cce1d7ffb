/* fuzz_jws — cf_jws_parse (flattened JWS: body, protected header, payload) and, when it parses,
 * cf_jws_verify with the header's own jwk: no crash, no leak, no read past the input. */
#include "fuzz.h"

#include "cf_jws.h"

static void one(const uint8_t *data, size_t size)
{
	struct cf_jws jws;

	for (int nonce = 0; nonce <= 1; nonce++) {
		memset(&jws, 0, sizeof(jws));
		if (cf_jws_parse((const char *)data, size, nonce, &jws) != 0)
			continue;
		(void)cf_jws_verify(&jws, NULL);
		cf_jws_clear(&jws);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
