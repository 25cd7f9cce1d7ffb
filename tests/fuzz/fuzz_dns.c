/* fuzz_dns — the DNS answers certflowd reads for the ACME dns-01 validation
 * (http_dns_parse_txt): any message a resolver, or someone spoofing one, may send back. Every
 * value given back is a NUL-terminated string shorter than HTTP_TXT_LEN. */
#include "fuzz.h"

#include "http.h"

static void one(const uint8_t *data, size_t size)
{
	char vals[8][HTTP_TXT_LEN];
	int n = -1;

	if (size > 65535)
		return;
	if (http_dns_parse_txt(data, (int)size, vals, 8, &n) == 0 && (n < 0 || n > 8))
		abort();
	for (int i = 0; i < n; i++)
		if (strnlen(vals[i], HTTP_TXT_LEN) >= HTTP_TXT_LEN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
