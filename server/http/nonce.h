/*
 * nonce — the server's replay nonces (spec/protocol.md §3): base64url of 16 random octets,
 * accepted once, forgotten after their lifetime or when the bounded memory evicts them (oldest
 * first). Thread-safe; issue and consume are O(1) (a hash table threaded through a FIFO ring).
 * Knows nothing of HTTP.
 */
#ifndef NONCE_H
#define NONCE_H

#include <stddef.h>
#include <stdint.h>

#define NONCE_LEN 22 /* base64url of 16 octets */
#define NONCE_DEFAULT_CAPACITY 65536
#define NONCE_LIFETIME_SECS (15 * 60)

typedef struct nonce_store nonce_store;

/* New store holding at most capacity live nonces (0 → default). CF_ENOMEM. */
int nonce_store_new(size_t capacity, nonce_store **out);
void nonce_store_free(nonce_store *ns);

/* Issue a fresh nonce into out (NUL-terminated). Evicts the oldest one when full.
 * 0 or CF_ECRYPTO. */
int nonce_issue(nonce_store *ns, char out[NONCE_LEN + 1]);

/* Consume nonce: 0 if it was issued by this store, not used, not evicted and not older than
 * NONCE_LIFETIME_SECS (by cf_now); CF_EBADNONCE otherwise. Either way it is no longer valid. */
int nonce_consume(nonce_store *ns, const char *nonce);

/* Number of live entries (for tests). */
size_t nonce_count(nonce_store *ns);

#endif
