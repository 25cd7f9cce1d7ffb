/*
 * nonce — the server's replay nonces (spec/protocol.md §3): base64url of 16 random octets,
 * accepted once, forgotten after their lifetime or when the bounded memory evicts them (oldest
 * first). Thread-safe; issue and consume are O(1) (a hash table threaded through a FIFO ring).
 * A shared store (several front ends on one database) keeps nothing in memory: its nonces carry a
 * MAC and their issue time, and their single use is recorded by the caller's hook.
 * Knows nothing of HTTP nor of the store.
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

/* Marks the nonce named by the len octets of id as used until `until` (cf_now seconds) where
 * every front end sees it: 0 the first time, non-zero if it was used already or cannot be
 * recorded (the nonce is refused either way). */
typedef int (*nonce_used_fn)(void *ctx, const uint8_t *id, size_t len, int64_t until);

/* New shared store: nonces under key (32 octets, the same on every front end; copied, wiped on
 * free) whose uses mark_used records (ctx is its first argument). CF_ENOMEM. */
int nonce_store_new_shared(const uint8_t key[32], nonce_used_fn mark_used, void *ctx,
			   nonce_store **out);
void nonce_store_free(nonce_store *ns);

/* Issue a fresh nonce into out (NUL-terminated). Evicts the oldest one when full.
 * 0 or CF_ECRYPTO. */
int nonce_issue(nonce_store *ns, char out[NONCE_LEN + 1]);

/* Consume nonce: 0 if it was issued by this store (shared: by any store with the same key), not
 * used, not evicted and not older than NONCE_LIFETIME_SECS (by cf_now); CF_EBADNONCE otherwise.
 * Either way it is no longer valid. */
int nonce_consume(nonce_store *ns, const char *nonce);

/* Number of live entries (for tests; 0 for a shared store). */
size_t nonce_count(nonce_store *ns);

#endif
