/* fuzz_csr — ca_csr_check, the CA's PKCS#10 reader (DER, key policy, self-signature). */
#include "fuzz.h"

#include "ca.h"
#include "cf_crypto.h"

static void one(const uint8_t *data, size_t size)
{
	cf_key *key = NULL;

	if (ca_csr_check(data, size, &key) == 0)
		cf_key_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
