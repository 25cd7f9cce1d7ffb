/*
 * client — the certflow protocol from the client side (spec/protocol.md): directory, nonces,
 * JWS-signed POSTs with bounded badNonce retries, problem documents. Used by certflow-agent,
 * certflow-admin and certflow-bench; knows nothing of files beyond what it is given.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cf_crypto.h"
#include "cf_json.h"
#include "transport.h"

typedef struct client client;

struct client_problem {
	int code;            /* CF_E* from the problem type (CF_EPROTO if unknown) */
	int status;          /* HTTP status */
	char type[128];      /* full type URN */
	char detail[512];
	char retry_after[64]; /* Retry-After header or body retryAfter, "" if none */
};

/* Connect lazily to server_url ("https://host:port"), fetch the directory on first use. */
int client_new(const char *server_url, const char *ca_file, client **out);
void client_free(client *c);

/* Fetch the directory now (a no-op once fetched): 0, or a negative code with prob filled (prob
 * may be NULL). client_dir_url/client_dir_meta call it and answer NULL on failure. */
int client_directory(client *c, struct client_problem *prob);

/* URL of a directory member ("activate", "renew", ...) or NULL. */
const char *client_dir_url(client *c, const char *name);
/* The directory's meta object (valid while c lives) or NULL. */
const cf_json *client_dir_meta(client *c);

/* Signed POST of payload (JSON text, or NULL/"" for POST-as-GET) to url with key; kid NULL →
 * jwk in the header. On HTTP 2xx: 0, *resp (parsed JSON object, caller frees; NULL if body is not
 * JSON), and *raw if raw is not NULL (the whole response, caller clears). On a problem:
 * prob->code (negative) is returned and prob filled. */
int client_post(client *c, const char *url, const cf_key *key, const char *kid, const char *payload,
		cf_json **resp, struct http_response *raw, struct client_problem *prob);

/* POST of the plain JSON text payload (NULL: an empty body) with "Authorization: Bearer token"
 * (base64url characters only) to path ("/v1/portal/status") on the origin of server_url: the
 * holder's portal and CSC routes (spec/protocol.md §23-§27), which are not in the directory. As
 * client_post: 0 and *resp (NULL if the body is not JSON) for 2xx, or a problem code with prob
 * filled (client_last_problem has the document). The request is wiped after sending. */
int client_bearer_post(client *c, const char *path, const char *token, const char *payload,
		       cf_json **resp, struct client_problem *prob);

/* Plain GET; 0 with raw filled for 2xx, problem code otherwise. */
int client_get(client *c, const char *url, struct http_response *raw, struct client_problem *prob);

/* For a device whose clock is clearly wrong: every connection ignores the time validity of the
 * server's chain and checks it against the server's Date instead (transport_ignore_cert_time). */
void client_ignore_cert_time(client *c, int on);

/* server_url as given to client_new, without a trailing slash. */
const char *client_server(const client *c);

/* The server's Date of the last response (0 if none) — the agent's clock of last resort. */
int64_t client_server_date(client *c);

/* The problem document (application/problem+json object) of the last response, for members
 * beyond client_problem (attemptsLeft, credentials); NULL if the last response was not a
 * problem. Valid until the next request or client_free. */
const cf_json *client_last_problem(client *c);

#endif
