/*
 * tls_cert — what certflowd needs to know about its own TLS certificate file (server.pem) to
 * decide whether to regenerate it: the first certificate's notAfter, and whether it names a
 * host. A minimal DER reader; it never parses keys.
 */
#ifndef TLS_CERT_H
#define TLS_CERT_H

#include <stdint.h>

/* notAfter of the first CERTIFICATE in the PEM file path; *has_names = 1 if every name in the
 * NULL-terminated names occurs in that certificate's DER. CF_EIO (no file), CF_EMALFORMED. */
int tls_cert_inspect(const char *path, const char *const *names, int64_t *not_after,
		     int *has_names);

#endif
