/*
 * sslcompat — the remedy for CivetWeb 1.15 with OpenSSL 3 (DESIGN.md, "Known traps").
 *
 * CivetWeb dlopens "libssl.so" and looks up SSL_get_peer_certificate, which OpenSSL 3 only has as
 * a macro; the NULL pointer is then called for every TLS connection. This library is built as
 * libssl.so in a private directory (<certflowd's dir>/lib, found through certflowd's DT_RPATH):
 * it defines that one function and depends on libssl.so.3, so every other symbol CivetWeb looks
 * up through this handle resolves in the real OpenSSL.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
