/* fuzz_csr — the CA's PKCS#10 readers: ca_csr_check (DER, key policy, self-signature), the ACME
 * profile's ca_csr_check_acme (which parses an empty subject itself) and ca_csr_names (commonName
 * and the subjectAltName walk of the extensionRequest attribute). */
#include "fuzz.h"

#include "ca.h"
#include "cf_crypto.h"

static void one(const uint8_t *data, size_t size)
{
	cf_key *key = NULL;

	char names[8][CA_NAME_MAX];
	size_t n = 0;

	if (ca_csr_check(data, size, &key) == 0)
		cf_key_free(key);
	key = NULL;
	if (ca_csr_check_acme(data, size, &key) == 0)
		cf_key_free(key);
	(void)ca_csr_names(data, size, names, 8, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
