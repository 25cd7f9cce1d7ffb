/*
 * x509_selftest_data — empty test certificates for certflow-agent-small only.
 *
 * Debian's libmbedx509.a is not compiled with one section per function, so the linker keeps
 * x509.c.o whole, with mbedtls_x509_self_test() in it; that function names four test
 * certificates of certs.c.o, and pulling certs.c.o adds 54 KB of test keys and certificates that
 * the agent never uses. Defining those four symbols here keeps certs.c.o out of the link. The
 * agent never calls the self-test; if something did, it would fail on empty input (a parse
 * error), never read past this data. mbedTLS 3 has neither certs.c nor this reference.
 */
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER < 0x03000000
#include <mbedtls/certs.h>

#if defined(MBEDTLS_CERTS_C) && defined(MBEDTLS_SELF_TEST)
const char *mbedtls_test_ca_crt = "";
const size_t mbedtls_test_ca_crt_len = 0;
const char *mbedtls_test_cli_crt = "";
const size_t mbedtls_test_cli_crt_len = 0;
#endif
#endif
