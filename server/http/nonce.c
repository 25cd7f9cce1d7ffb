/*
 * nonce — replay nonces in bounded memory. Entries live in a fixed pool; each live entry is on
 * two doubly linked lists: its hash bucket (for O(1) lookup) and the FIFO of issue order (for
 * O(1) eviction of the oldest). Consuming unlinks from both, so a used nonce frees its slot at
 * once. The nonce text is never logged (it is not a secret, but there is no reason to).
 *
 * Shared mode (several front ends on one database): a nonce carries its issue time and a MAC
 * under a key that every front end derives from the same secret.key, so any of them checks it
 * without having seen it; the single use is a "used" record that the caller's hook writes where
 * all front ends see it (a unique key: the second use fails on every process). Nothing is kept in
 * memory then. The key never leaves this file.
 */
#include "nonce.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"

#define NIL UINT32_MAX

struct nonce_entry {
	uint8_t raw[16];
	int64_t issued;
	uint32_t hprev, hnext; /* bucket chain */
	uint32_t fprev, fnext; /* FIFO: fprev is older, fnext is newer; free list uses fnext */
};

struct nonce_store {
	pthread_mutex_t lock;
	struct nonce_entry *pool;
	uint32_t *buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t capacity;
	uint32_t count;
	uint32_t oldest, newest, free_list;
	/* shared mode (mark_used set): the pool above is empty */
	uint8_t key[32];
	nonce_used_fn mark_used;
	void *mark_ctx;
};

/* A shared nonce's 16 octets: issue time (4, big-endian seconds) ‖ random (6) ‖ the first 6 octets
 * of HMAC-SHA-256(key, time ‖ random). The 10 first octets name it in the used records. */
#define SH_TIME 4
#define SH_RAND 6
#define SH_ID (SH_TIME + SH_RAND)
#define SH_TAG (16 - SH_ID)

static uint32_t bucket_of(const nonce_store *ns, const uint8_t raw[16])
{
	uint32_t h;
	/* The octets are uniformly random (we made them): any four of them are a good hash. */
	memcpy(&h, raw, sizeof(h));
	return h & (ns->nbuckets - 1);
}

int nonce_store_new(size_t capacity, nonce_store **out)
{
	nonce_store *ns;
	uint32_t i;

	if (capacity == 0)
		capacity = NONCE_DEFAULT_CAPACITY;
	if (capacity > (1u << 24))
		return CF_EMALFORMED;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return CF_ENOMEM;
	ns->capacity = (uint32_t)capacity;
	for (ns->nbuckets = 16; ns->nbuckets < ns->capacity; ns->nbuckets <<= 1)
		;
	ns->pool = calloc(ns->capacity, sizeof(*ns->pool));
	ns->buckets = malloc(ns->nbuckets * sizeof(*ns->buckets));
	if (!ns->pool || !ns->buckets) {
		nonce_store_free(ns);
		return CF_ENOMEM;
	}
	for (i = 0; i < ns->nbuckets; i++)
		ns->buckets[i] = NIL;
	for (i = 0; i < ns->capacity; i++)
		ns->pool[i].fnext = i + 1 < ns->capacity ? i + 1 : NIL;
	ns->free_list = 0;
	ns->oldest = ns->newest = NIL;
	pthread_mutex_init(&ns->lock, NULL);
	*out = ns;
	return 0;
}

int nonce_store_new_shared(const uint8_t key[32], nonce_used_fn mark_used, void *ctx,
			   nonce_store **out)
{
	nonce_store *ns;

	if (!key || !mark_used || !out)
		return CF_EINTERNAL;
	if (!(ns = calloc(1, sizeof(*ns))))
		return CF_ENOMEM;
	memcpy(ns->key, key, sizeof(ns->key));
	ns->mark_used = mark_used;
	ns->mark_ctx = ctx;
	*out = ns;
	return 0;
}

void nonce_store_free(nonce_store *ns)
{
	if (!ns)
		return;
	cf_zeroize(ns->key, sizeof(ns->key));
	if (ns->pool)
		pthread_mutex_destroy(&ns->lock);
	free(ns->pool);
	free(ns->buckets);
	free(ns);
}

/* Unlink entry i from its bucket and from the FIFO, and put it on the free list. */
static void entry_remove(nonce_store *ns, uint32_t i)
{
	struct nonce_entry *e = &ns->pool[i];

	if (e->hprev != NIL)
		ns->pool[e->hprev].hnext = e->hnext;
	else
		ns->buckets[bucket_of(ns, e->raw)] = e->hnext;
	if (e->hnext != NIL)
		ns->pool[e->hnext].hprev = e->hprev;

	if (e->fprev != NIL)
		ns->pool[e->fprev].fnext = e->fnext;
	else
		ns->oldest = e->fnext;
	if (e->fnext != NIL)
		ns->pool[e->fnext].fprev = e->fprev;
	else
		ns->newest = e->fprev;

	memset(e, 0, sizeof(*e));
	e->fnext = ns->free_list;
	ns->free_list = i;
	ns->count--;
}

static void expire_old(nonce_store *ns, int64_t now)
{
	while (ns->oldest != NIL && now - ns->pool[ns->oldest].issued >= NONCE_LIFETIME_SECS)
		entry_remove(ns, ns->oldest);
}

static int shared_tag(const nonce_store *ns, const uint8_t raw[16], uint8_t tag[SH_TAG])
{
	uint8_t mac[32];
	int ret = cf_hmac_sha256(ns->key, sizeof(ns->key), raw, SH_ID, mac);

	memcpy(tag, mac, SH_TAG);
	cf_zeroize(mac, sizeof(mac));
	return ret;
}

static int shared_issue(nonce_store *ns, char out[NONCE_LEN + 1])
{
	uint8_t raw[16];
	uint32_t t = (uint32_t)cf_now();
	size_t len;
	int ret;

	raw[0] = (uint8_t)(t >> 24);
	raw[1] = (uint8_t)(t >> 16);
	raw[2] = (uint8_t)(t >> 8);
	raw[3] = (uint8_t)t;
	if ((ret = cf_random(raw + SH_TIME, SH_RAND)) != 0 ||
	    (ret = shared_tag(ns, raw, raw + SH_ID)) != 0)
		return ret;
	return cf_b64url_encode(raw, sizeof(raw), out, NONCE_LEN + 1, &len);
}

static int shared_consume(nonce_store *ns, const uint8_t raw[16])
{
	uint8_t tag[SH_TAG];
	int64_t now = cf_now(), issued;

	if (shared_tag(ns, raw, tag) != 0 || !cf_ct_equal(tag, raw + SH_ID, SH_TAG))
		return CF_EBADNONCE; /* not one of ours */
	issued = (int64_t)((uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
			   raw[3]);
	/* Too old is wrong; a clock moved backwards (test clock) is not, as in memory: the used
	 * records are purged by the earlier of this clock and the wall clock (store_nonce_use). */
	if (now - issued >= NONCE_LIFETIME_SECS)
		return CF_EBADNONCE;
	/* kept until the nonce is too old anyway; any answer but "first use" refuses it */
	return ns->mark_used(ns->mark_ctx, raw, SH_ID, issued + NONCE_LIFETIME_SECS) == 0
		   ? 0
		   : CF_EBADNONCE;
}

int nonce_issue(nonce_store *ns, char out[NONCE_LEN + 1])
{
	uint8_t raw[16];
	struct nonce_entry *e;
	int64_t now = cf_now();
	uint32_t i, b;
	size_t len;
	int ret;

	if (ns->mark_used)
		return shared_issue(ns, out);
	ret = cf_random(raw, sizeof(raw));
	if (ret != 0)
		return ret;
	pthread_mutex_lock(&ns->lock);
	expire_old(ns, now);
	if (ns->free_list == NIL)
		entry_remove(ns, ns->oldest); /* full: forget the oldest */
	i = ns->free_list;
	e = &ns->pool[i];
	ns->free_list = e->fnext;
	memcpy(e->raw, raw, sizeof(raw));
	e->issued = now;
	b = bucket_of(ns, raw);
	e->hprev = NIL;
	e->hnext = ns->buckets[b];
	if (e->hnext != NIL)
		ns->pool[e->hnext].hprev = i;
	ns->buckets[b] = i;
	e->fprev = ns->newest;
	e->fnext = NIL;
	if (ns->newest != NIL)
		ns->pool[ns->newest].fnext = i;
	else
		ns->oldest = i;
	ns->newest = i;
	ns->count++;
	pthread_mutex_unlock(&ns->lock);
	return cf_b64url_encode(raw, sizeof(raw), out, NONCE_LEN + 1, &len);
}

int nonce_consume(nonce_store *ns, const char *nonce)
{
	uint8_t raw[16];
	size_t len = 0;
	uint32_t i;
	int ret = CF_EBADNONCE;
	int64_t now = cf_now();

	if (!nonce || strlen(nonce) != NONCE_LEN ||
	    cf_b64url_decode(nonce, NONCE_LEN, raw, sizeof(raw), &len) != 0 || len != sizeof(raw))
		return CF_EBADNONCE;
	if (ns->mark_used)
		return shared_consume(ns, raw);
	pthread_mutex_lock(&ns->lock);
	for (i = ns->buckets[bucket_of(ns, raw)]; i != NIL; i = ns->pool[i].hnext) {
		if (memcmp(ns->pool[i].raw, raw, sizeof(raw)) != 0)
			continue;
		/* Too old is wrong; a clock moved backwards (test clock) is not: the memory bound
		 * still forgets such a nonce in time. */
		if (now - ns->pool[i].issued < NONCE_LIFETIME_SECS)
			ret = 0;
		entry_remove(ns, i);
		break;
	}
	pthread_mutex_unlock(&ns->lock);
	return ret;
}

size_t nonce_count(nonce_store *ns)
{
	size_t n;

	if (ns->mark_used)
		return 0;
	pthread_mutex_lock(&ns->lock);
	n = ns->count;
	pthread_mutex_unlock(&ns->lock);
	return n;
}
