/*
 * transport — HTTPS/1.1 client over mbedTLS (the agent's only network code). The server is
 * verified against a CA file; the host name is always checked (mbedtls_ssl_set_hostname). One
 * connection is kept alive across requests and reopened when the server closes it.
 * Plain http:// is allowed only to loopback addresses.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct transport transport;

struct http_response {
	int status;
	char content_type[128];
	char replay_nonce[80];
	char location[512];
	char retry_after[64]; /* raw header value, "" if absent */
	int64_t date;         /* server Date header as Unix time, 0 if absent */
	char *body;           /* malloc'd, NUL-terminated (may contain NULs for DER) */
	size_t body_len;
};

/* base_url: "https://host:port" (any path part is ignored). ca_file: PEM trust anchors (required
 * for https). timeout_ms: per connect/read/write. */
int transport_new(const char *base_url, const char *ca_file, int timeout_ms, transport **out);
void transport_free(transport *t);
/* A transport that verifies nothing of the server's certificate: only to fetch the CA chain that
 * transport_pin_root then checks against a fingerprint given out of band (--ca-fingerprint). */
int transport_new_bootstrap(const char *base_url, int timeout_ms, transport **out);
/* In the PEM chain (len octets, NUL-terminated), the self-signed certificate whose SHA-256 over
 * its DER is fingerprint ("sha256:" + 64 hex digits, ':' between octets allowed), under which
 * the chain's first certificate verifies: 0 and *root_pem (malloc'd PEM). CF_EUSAGE (not a
 * fingerprint), CF_EPROTO (no certificate in it), CF_EVERIFY (no such root, or the chain is not
 * under it), CF_ENOMEM. */
int transport_pin_root(const char *chain_pem, size_t len, const char *fingerprint, char **root_pem);

/* One request. url is absolute and must be on the transport's origin. body may be NULL.
 * Returns 0 with resp filled (any HTTP status), or CF_ETLS / CF_EVERIFY / CF_ETIMEOUT /
 * CF_EPROTO. Response bodies are capped at 1 MiB. */
int transport_request(transport *t, const char *method, const char *url, const char *content_type,
		      const void *body, size_t body_len, struct http_response *resp);
/* transport_request with the header "Authorization: <auth>" (NULL: none; no CR or LF), e.g.
 * "Bearer <token>": a secret, wiped with the request after sending. */
int transport_request_auth(transport *t, const char *method, const char *url, const char *auth,
			   const char *content_type, const void *body, size_t body_len,
			   struct http_response *resp);
void http_response_clear(struct http_response *resp);

/* 1 if url (absolute) is on t's origin (same scheme, host and port), 0 if not or malformed. */
int transport_same_origin(const transport *t, const char *url);

/* A device whose clock is clearly wrong (spec/cli.md "Clocks"): on (1), the server's chain is
 * verified up to the trust anchor and its host name checked as always, but the two time-validity
 * results (not yet valid, expired) are ignored; instead every response must carry a Date at which
 * every certificate of that chain is valid (CF_EVERIFY otherwise). Takes effect at the next
 * connection (an open one is closed). */
void transport_ignore_cert_time(transport *t, int on);

/* 1 if the last transport_request failed before any byte of the request was sent (connection
 * refused or reset, TLS handshake cut): sending again is safe. */
int transport_last_transient(const transport *t);

/* One line saying why the last transport_new/transport_request failed (host, reason; never a
 * request body), or NULL. Valid until the next call on t. */
const char *transport_last_error(const transport *t);

#endif
