/*
 * custody — server-held private keys (spec/protocol.md §22): the master key file, key
 * derivation, creation, the counted unlock, PIN change, re-keying, destruction and signing.
 *
 * Must never: write a clear key, DK, KEK, PIN or PUK to the store, a log line or an error; keep
 * any of them in memory past the call that needs it (every such buffer is wiped on every path);
 * count a failure outside the write transaction that tries the wrap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_log.h"
#include "custody.h"

#define AAD_PREFIX "certflow-custody-v1:"
#define NONCE_LEN 12
#define TAG_LEN 16
#define DK_LEN 32
#define DER_CAP (STORE_CUSTODY_KEY_MAX - NONCE_LEN - TAG_LEN)
#define ITER_MIN 1000
#define ITER_MAX 10000000
#define UNLOCK_ATTEMPTS 3 /* derivations when PIN changes keep racing an unlock */
#define AAD_CAP (sizeof(AAD_PREFIX) + 4 + STORE_ID_LEN) /* "<prefix>pin:<id>" + NUL */

/* ---- small helpers --------------------------------------------------------------------------- */

static int max_pin(const struct custody_limits *lim)
{
	return lim && lim->pin_max_tries > 0 ? lim->pin_max_tries : CUSTODY_PIN_MAX_TRIES;
}

static int max_puk(const struct custody_limits *lim)
{
	return lim && lim->puk_max_tries > 0 ? lim->puk_max_tries : CUSTODY_PUK_MAX_TRIES;
}

/* aad "certflow-custody-v1:<kind>:<credential id>" (§22.2) into out; its length. */
static size_t aad_make(char out[AAD_CAP], const char *kind, const char *id)
{
	int n = snprintf(out, AAD_CAP, AAD_PREFIX "%s:%s", kind, id);
	return n > 0 ? (size_t)n : 0;
}

/* nonce ‖ AES-256-GCM(key, nonce, aad(kind, id), in) ‖ tag into out (len + 28 octets). */
static int seal(const uint8_t key[32], const char *kind, const char *id, const uint8_t *in,
		size_t len, uint8_t *out)
{
	char aad[AAD_CAP];
	size_t alen = aad_make(aad, kind, id);

	if (cf_random(out, NONCE_LEN) != 0 ||
	    cf_aead_seal(key, out, aad, alen, in, len, out + NONCE_LEN, out + NONCE_LEN + len) != 0)
		return CF_ECRYPTO;
	return 0;
}

/* Open a sealed value of len octets into out (len - 28 octets): 0, or CF_EBADPASSPHRASE for a
 * wrong key or another aad (out wiped), CF_ECRYPTO for a value too short. */
static int open_sealed(const uint8_t key[32], const char *kind, const char *id, const uint8_t *in,
		       size_t len, uint8_t *out)
{
	char aad[AAD_CAP];
	size_t alen = aad_make(aad, kind, id), n;

	if (len < NONCE_LEN + TAG_LEN)
		return CF_ECRYPTO;
	n = len - NONCE_LEN - TAG_LEN;
	return cf_aead_open(key, in, aad, alen, in + NONCE_LEN, n, in + NONCE_LEN + n, out);
}

static const char *proof_kind(int proof)
{
	return proof == CUSTODY_PIN ? "pin" : "puk";
}

/* Erase the key material of rec: the key is gone for good. */
static void destroy_key(struct store_custody *rec, int64_t now)
{
	cf_zeroize(rec->sealed_key, sizeof(rec->sealed_key));
	rec->sealed_key_len = 0;
	cf_zeroize(rec->pin_wrap, sizeof(rec->pin_wrap));
	cf_zeroize(rec->puk_wrap, sizeof(rec->puk_wrap));
	rec->pin_tries_left = 0;
	rec->puk_tries_left = 0;
	rec->state = CUSTODY_REVOKED;
	rec->updated_at = now;
}

void custody_kek_wipe(struct custody_kek *k)
{
	if (k)
		cf_zeroize(k, sizeof(*k));
}

void custody_unlocked_wipe(struct custody_unlocked *u)
{
	if (u)
		cf_zeroize(u, sizeof(*u));
}

/* ---- secrets --------------------------------------------------------------------------------- */

int custody_secret_shape_ok(int proof, const char *secret)
{
	size_t n, min = proof == CUSTODY_PIN ? CUSTODY_PIN_DIGITS : CUSTODY_PUK_MIN,
		  max = proof == CUSTODY_PIN ? CUSTODY_PIN_DIGITS : CUSTODY_PUK_MAX;

	if (!secret || (proof != CUSTODY_PIN && proof != CUSTODY_PUK))
		return 0;
	for (n = 0; secret[n] && n <= max; n++)
		if (secret[n] < '0' || secret[n] > '9')
			return 0;
	return n >= min && n <= max;
}

int custody_secret_generate(int proof, char *out, size_t cap)
{
	size_t n = proof == CUSTODY_PIN ? CUSTODY_PIN_DIGITS : CUSTODY_PUK_DIGITS;
	uint8_t b;

	if ((proof != CUSTODY_PIN && proof != CUSTODY_PUK) || !out || cap < n + 1)
		return CF_EINTERNAL;
	for (size_t i = 0; i < n;) {
		if (cf_random(&b, 1) != 0) {
			cf_zeroize(out, cap);
			return CF_ECRYPTO;
		}
		if (b < 250) /* 250 = 25 × 10: uniform digits */
			out[i++] = (char)('0' + b % 10);
	}
	out[n] = '\0';
	cf_zeroize(&b, sizeof(b));
	return 0;
}

/* ---- the master key -------------------------------------------------------------------------- */

/* why: what is wrong with the file, for the one line the caller prints. */
static int master_read(const char *path, uint8_t mk[32], char *why, size_t why_len)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return CF_ENOTFOUND;
		snprintf(why, why_len, "%s", strerror(errno));
		return CF_EIO;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		snprintf(why, why_len, "not a regular file of mode 0600 or stricter");
		return CF_EIO;
	}
	ret = cf_file_read(path, 64, &buf, &len);
	if (ret == 0 && len != 32) {
		snprintf(why, why_len, "not exactly 32 octets");
		ret = CF_EIO;
	}
	if (ret == 0)
		memcpy(mk, buf, 32);
	if (buf) {
		cf_zeroize(buf, len);
		free(buf);
	}
	return ret;
}

static int count_txn(store_txn *txn, void *ctx)
{
	return store_custody_count(txn, ctx);
}

int custody_master_load(const char *path, store *st, uint8_t mk[32], char *why, size_t why_len)
{
	uint8_t key[32];
	uint64_t n = 0;
	int ret;

	if (!path || !st || !mk || !why || why_len == 0)
		return CF_EINTERNAL;
	snprintf(why, why_len, "unreadable");
	ret = master_read(path, key, why, why_len);
	if (ret == CF_ENOTFOUND) {
		/* a new key would silently orphan every sealed key: only for an empty table */
		if ((ret = store_read(st, count_txn, &n)) != 0)
			return ret;
		if (n > 0) {
			snprintf(why, why_len, "missing, but the database holds %llu remote keys",
				 (unsigned long long)n);
			return CF_ENOTFOUND;
		}
		if (cf_random(key, sizeof(key)) != 0)
			return CF_ECRYPTO;
		ret = cf_file_write(path, key, sizeof(key), 0600, 1);
		if (ret == 0)
			cf_info("master key %s created", path);
		else if (ret == CF_ECONFLICT) /* another process made it first: use that one */
			ret = master_read(path, key, why, why_len);
		else
			snprintf(why, why_len, "cannot be created");
	}
	if (ret == 0)
		memcpy(mk, key, sizeof(key));
	cf_zeroize(key, sizeof(key));
	return ret;
}

/* ---- key derivation -------------------------------------------------------------------------- */

/* KEK = HMAC-SHA-256(mk, PBKDF2-HMAC-SHA-256(secret, salt, iterations, 32)). */
static int derive(const uint8_t mk[32], int proof, const char *secret, const uint8_t salt[16],
		  uint32_t iterations, struct custody_kek *out)
{
	uint8_t p[32];
	int ret;

	if (!custody_secret_shape_ok(proof, secret))
		return CF_EMALFORMED;
	if (!mk || !out || iterations < ITER_MIN || iterations > ITER_MAX)
		return CF_EUSAGE;
	ret = cf_pbkdf2_sha256(secret, strlen(secret), salt, 16, iterations, p, sizeof(p));
	if (ret == 0 && cf_hmac_sha256(mk, 32, p, sizeof(p), out->key) != 0)
		ret = CF_ECRYPTO;
	cf_zeroize(p, sizeof(p));
	if (ret != 0) {
		custody_kek_wipe(out);
		return ret;
	}
	out->proof = proof;
	memcpy(out->salt, salt, 16);
	out->iterations = iterations;
	return 0;
}

int custody_derive(const uint8_t mk[32], const struct store_custody *rec, int proof,
		   const char *secret, struct custody_kek *out)
{
	if (!rec)
		return CF_EINTERNAL;
	if (rec->state == CUSTODY_REVOKED)
		return CF_EREVOKED;
	if (proof == CUSTODY_PIN)
		return derive(mk, proof, secret, rec->pin_salt, rec->pin_iterations, out);
	return derive(mk, proof, secret, rec->puk_salt, rec->puk_iterations, out);
}

int custody_derive_new(const uint8_t mk[32], int proof, const char *secret, uint32_t iterations,
		       struct custody_kek *out)
{
	uint8_t salt[16];

	if (cf_random(salt, sizeof(salt)) != 0)
		return CF_ECRYPTO;
	return derive(mk, proof, secret, salt, iterations, out);
}

/* ---- creation -------------------------------------------------------------------------------- */

static int type_ok(enum cf_key_type type, unsigned *bits)
{
	switch (type) {
	case CF_KEY_P256:
		*bits = 256;
		return 1;
	case CF_KEY_P384:
		*bits = 384;
		return 1;
	case CF_KEY_RSA:
		return *bits == 2048 || *bits == 3072;
	}
	return 0;
}

/* The public half of pair as a key of its own. */
static int public_copy(const cf_key *pair, cf_key **pub)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int ret = cf_key_spki_der(pair, &der, &len);

	if (ret == 0)
		ret = cf_key_parse(der, len, pub);
	free(der);
	return ret;
}

/* Seal pair under a new DK and wrap DK under pin and puk into rec. */
static int seal_new(const cf_key *pair, const struct custody_kek *pin,
		    const struct custody_kek *puk, struct store_custody *rec)
{
	uint8_t dk[DK_LEN], *der = malloc(DER_CAP);
	size_t len = 0;
	int ret;

	if (!der)
		return CF_ENOMEM;
	ret = cf_key_pkcs8_der(pair, der, DER_CAP, &len);
	if (ret == 0 && cf_random(dk, sizeof(dk)) != 0)
		ret = CF_ECRYPTO;
	if (ret == 0)
		ret = seal(dk, "key", rec->credential_id, der, len, rec->sealed_key);
	if (ret == 0)
		ret = seal(pin->key, "pin", rec->credential_id, dk, DK_LEN, rec->pin_wrap);
	if (ret == 0)
		ret = seal(puk->key, "puk", rec->credential_id, dk, DK_LEN, rec->puk_wrap);
	if (ret == 0)
		rec->sealed_key_len = len + NONCE_LEN + TAG_LEN;
	cf_zeroize(dk, sizeof(dk));
	cf_zeroize(der, DER_CAP);
	free(der);
	return ret;
}

int custody_create(const char *credential_id, enum cf_key_type type, unsigned bits,
		   const struct custody_kek *pin, const struct custody_kek *puk,
		   const struct custody_limits *lim, int64_t now, struct store_custody *rec,
		   cf_key **pub)
{
	struct store_custody *r = NULL;
	cf_key *pair = NULL, *p = NULL;
	int ret = CF_EINTERNAL;

	if (!credential_id || !credential_id[0] || strlen(credential_id) >= STORE_ID_LEN || !pin ||
	    !puk || pin->proof != CUSTODY_PIN || puk->proof != CUSTODY_PUK || !rec || !pub)
		return CF_EINTERNAL;
	if (!type_ok(type, &bits))
		return CF_EBADKEY;
	if (!(r = calloc(1, sizeof(*r))))
		return CF_ENOMEM;
	snprintf(r->credential_id, sizeof(r->credential_id), "%s", credential_id);
	r->key_type = (int)type;
	r->key_bits = bits;
	memcpy(r->pin_salt, pin->salt, 16);
	r->pin_iterations = pin->iterations;
	memcpy(r->puk_salt, puk->salt, 16);
	r->puk_iterations = puk->iterations;
	r->pin_tries_left = max_pin(lim);
	r->puk_tries_left = max_puk(lim);
	r->state = CUSTODY_ACTIVE;
	r->created_at = r->updated_at = now;
	if ((ret = cf_key_generate(type, bits, &pair)) != 0 ||
	    (ret = seal_new(pair, pin, puk, r)) != 0 || (ret = public_copy(pair, &p)) != 0)
		goto out;
	*rec = *r;
	*pub = p;
	p = NULL;
out:
	cf_key_free(pair); /* wipes the private key */
	cf_key_free(p);
	free(r);
	return ret;
}

/* ---- unlock, PIN change, revocation ---------------------------------------------------------- */

/* The record still holds the wrap kek was derived for. */
static int same_wrap(const struct store_custody *rec, const struct custody_kek *kek)
{
	const uint8_t *salt = kek->proof == CUSTODY_PIN ? rec->pin_salt : rec->puk_salt;
	uint32_t iter = kek->proof == CUSTODY_PIN ? rec->pin_iterations : rec->puk_iterations;

	return memcmp(salt, kek->salt, 16) == 0 && iter == kek->iterations;
}

/* A wrong secret: count it (§22.5, step 4). The one that uses the last try is answered with
 * what every later try gets — pinBlocked, or credentialRevoked once the PUK destroyed the key —
 * as every other counter of the server answers its last failure with its lock. */
static void count_failure(struct store_custody *rec, int proof, int64_t now,
			  struct custody_result *res)
{
	res->counted = 1;
	if (proof == CUSTODY_PIN) {
		rec->pin_tries_left--;
		res->result = CF_EBADPIN;
		if (rec->pin_tries_left <= 0) {
			rec->pin_tries_left = 0;
			rec->state = CUSTODY_BLOCKED;
			res->result = CF_EPINBLOCKED;
		}
		res->attempts_left = rec->pin_tries_left;
	} else {
		rec->puk_tries_left--;
		res->result = CF_EBADPUK;
		res->attempts_left = rec->puk_tries_left > 0 ? rec->puk_tries_left : 0;
		if (rec->puk_tries_left <= 0) {
			destroy_key(rec, now);
			res->revoked = 1;
			res->result = CF_EREVOKED;
		}
	}
	rec->updated_at = now;
}

/* Steps 1-3 of §22.5: a verdict reached without trying the wrap (nothing counted), or 0. */
static int precheck(const struct store_custody *rec, const struct custody_kek *kek,
		    struct custody_result *res)
{
	if (rec->state == CUSTODY_REVOKED)
		return CF_EREVOKED;
	if (!same_wrap(rec, kek))
		return CF_ECONFLICT;
	if (kek->proof == CUSTODY_PIN &&
	    (rec->state == CUSTODY_BLOCKED || rec->pin_tries_left <= 0)) {
		res->attempts_left = 0;
		return CF_EPINBLOCKED;
	}
	if (kek->proof == CUSTODY_PUK && rec->puk_tries_left <= 0)
		return CF_EREVOKED;
	return 0;
}

int custody_unlock_txn(store_txn *txn, const char *credential_id, const struct custody_kek *kek,
		       const struct custody_limits *lim, int64_t now, struct custody_result *res,
		       struct custody_unlocked *out)
{
	struct store_custody *rec;
	uint8_t dk[DK_LEN];
	int ret, max, *left;

	if (!txn || !kek || !res || !out ||
	    (kek->proof != CUSTODY_PIN && kek->proof != CUSTODY_PUK))
		return CF_EINTERNAL;
	memset(res, 0, sizeof(*res));
	res->attempts_left = -1;
	if (!(rec = malloc(sizeof(*rec))))
		return CF_ENOMEM;
	if ((ret = store_custody_get(txn, credential_id, rec)) != 0)
		goto out;
	if ((res->result = precheck(rec, kek, res)) != 0)
		goto out; /* nothing to write */
	ret = open_sealed(kek->key, proof_kind(kek->proof), rec->credential_id,
			  kek->proof == CUSTODY_PIN ? rec->pin_wrap : rec->puk_wrap,
			  STORE_CUSTODY_WRAP_LEN, dk);
	if (ret == CF_EBADPASSPHRASE) {
		count_failure(rec, kek->proof, now, res);
		ret = store_custody_put(txn, rec);
		goto out;
	}
	if (ret != 0)
		goto out;
	/* success resets only the counter of the proof used (§22.5, step 5) */
	left = kek->proof == CUSTODY_PIN ? &rec->pin_tries_left : &rec->puk_tries_left;
	max = kek->proof == CUSTODY_PIN ? max_pin(lim) : max_puk(lim);
	res->attempts_left = max;
	if (*left != max) {
		*left = max;
		rec->updated_at = now;
		if ((ret = store_custody_put(txn, rec)) != 0)
			goto out;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->credential_id, rec->credential_id, STORE_ID_LEN);
	out->proof = kek->proof;
	memcpy(out->dk, dk, DK_LEN);
	memcpy(out->sealed_key, rec->sealed_key, rec->sealed_key_len);
	out->sealed_key_len = rec->sealed_key_len;
out:
	cf_zeroize(dk, sizeof(dk));
	cf_zeroize(rec, sizeof(*rec));
	free(rec);
	return ret;
}

/* A record and the buffer one custody_*_txn works on (malloc'd: it is 2.8 KB). */
static int rec_load(store_txn *txn, const char *id, struct store_custody **out)
{
	struct store_custody *rec = malloc(sizeof(*rec));
	int ret;

	if (!rec)
		return CF_ENOMEM;
	if ((ret = store_custody_get(txn, id, rec)) != 0) {
		free(rec);
		return ret;
	}
	*out = rec;
	return 0;
}

/* The record of u's credential (*out as rec_load) if it still holds the sealed key u opened:
 * CF_EREVOKED, CF_ECONFLICT (re-keyed since the unlock), CF_ENOTFOUND, store errors. */
static int rec_load_current(store_txn *txn, const struct custody_unlocked *u,
			    struct store_custody **out)
{
	struct store_custody *rec = NULL;
	int ret;

	if ((ret = rec_load(txn, u->credential_id, &rec)) != 0)
		return ret;
	if (rec->state == CUSTODY_REVOKED)
		ret = CF_EREVOKED;
	else if (rec->sealed_key_len != u->sealed_key_len ||
		 memcmp(rec->sealed_key, u->sealed_key, u->sealed_key_len) != 0)
		ret = CF_ECONFLICT;
	if (ret != 0) {
		cf_zeroize(rec, sizeof(*rec));
		free(rec);
		return ret;
	}
	*out = rec;
	return 0;
}

int custody_change_pin_txn(store_txn *txn, const struct custody_unlocked *u,
			   const struct custody_kek *new_pin, const struct custody_limits *lim,
			   int64_t now)
{
	struct store_custody *rec = NULL;
	int ret;

	if (!txn || !u || !new_pin || new_pin->proof != CUSTODY_PIN)
		return CF_EINTERNAL;
	if ((ret = rec_load_current(txn, u, &rec)) != 0)
		return ret;
	ret = seal(new_pin->key, "pin", rec->credential_id, u->dk, DK_LEN, rec->pin_wrap);
	if (ret != 0)
		goto out;
	memcpy(rec->pin_salt, new_pin->salt, 16);
	rec->pin_iterations = new_pin->iterations;
	rec->pin_tries_left = max_pin(lim);
	rec->state = CUSTODY_ACTIVE;
	rec->updated_at = now;
	ret = store_custody_put(txn, rec);
out:
	cf_zeroize(rec, sizeof(*rec));
	free(rec);
	return ret;
}

int custody_revoke_txn(store_txn *txn, const char *credential_id, int64_t now)
{
	struct store_custody *rec = NULL;
	int ret;

	if (!txn)
		return CF_EINTERNAL;
	if ((ret = rec_load(txn, credential_id, &rec)) != 0)
		return ret;
	if (rec->state != CUSTODY_REVOKED) {
		destroy_key(rec, now);
		ret = store_custody_put(txn, rec);
	}
	cf_zeroize(rec, sizeof(*rec));
	free(rec);
	return ret;
}

/* ---- the journeys' building blocks ----------------------------------------------------------- */

struct unlock_ctx {
	const char *id;
	const struct custody_kek *kek;
	const struct custody_limits *lim;
	int64_t now;
	int (*in_txn)(store_txn *txn, const struct custody_result *res, void *ctx);
	void *ctx;
	struct custody_result res;
	struct custody_unlocked u;
};

static int unlock_fn(store_txn *txn, void *ctx)
{
	struct unlock_ctx *x = ctx;
	int ret = custody_unlock_txn(txn, x->id, x->kek, x->lim, x->now, &x->res, &x->u);

	if (ret == 0 && x->in_txn)
		ret = x->in_txn(txn, &x->res, x->ctx);
	return ret;
}

struct get_ctx {
	const char *id;
	struct store_custody *rec;
};

static int get_fn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_custody_get(txn, g->id, g->rec);
}

/* Read the record of id and derive the KEK of secret for it. */
static int derive_for(store *st, const uint8_t mk[32], const char *id, int proof,
		      const char *secret, struct custody_kek *kek)
{
	struct get_ctx g = {id, malloc(sizeof(struct store_custody))};
	int ret;

	if (!g.rec)
		return CF_ENOMEM;
	ret = store_read(st, get_fn, &g);
	if (ret == 0)
		ret = custody_derive(mk, g.rec, proof, secret, kek);
	cf_zeroize(g.rec, sizeof(*g.rec));
	free(g.rec);
	return ret;
}

int custody_unlock(store *st, const uint8_t mk[32], const char *credential_id, int proof,
		   const char *secret, const struct custody_limits *lim,
		   int (*in_txn)(store_txn *txn, const struct custody_result *res, void *ctx),
		   void *ctx, struct custody_result *res, struct custody_unlocked *out)
{
	struct unlock_ctx *x;
	struct custody_kek kek;
	int ret = CF_EINTERNAL;

	if (!st || !mk || !res || !out)
		return CF_EINTERNAL;
	memset(res, 0, sizeof(*res));
	res->attempts_left = -1;
	if (!custody_secret_shape_ok(proof, secret))
		return res->result = CF_EMALFORMED;
	if (!(x = calloc(1, sizeof(*x))))
		return CF_ENOMEM;
	x->id = credential_id;
	x->kek = &kek;
	x->lim = lim;
	x->now = cf_now();
	x->in_txn = in_txn;
	x->ctx = ctx;
	for (int i = 0; i < UNLOCK_ATTEMPTS; i++) {
		ret = derive_for(st, mk, credential_id, proof, secret, &kek);
		if (ret == CF_EREVOKED) { /* revoked: the transaction tells it (and audits it) */
			memset(&kek, 0, sizeof(kek));
			kek.proof = proof;
			ret = 0;
		}
		if (ret == 0)
			ret = store_write(st, unlock_fn, x);
		custody_kek_wipe(&kek);
		if (ret != 0 || x->res.result != CF_ECONFLICT)
			break;
	}
	*res = x->res;
	if (ret == 0)
		ret = res->result;
	if (ret == 0)
		*out = x->u;
	cf_zeroize(x, sizeof(*x));
	free(x);
	return ret;
}

struct change_ctx {
	const struct custody_unlocked *u;
	const struct custody_kek *kek;
	const struct custody_limits *lim;
	int64_t now;
};

static int change_fn(store_txn *txn, void *ctx)
{
	struct change_ctx *c = ctx;
	return custody_change_pin_txn(txn, c->u, c->kek, c->lim, c->now);
}

int custody_change_pin(store *st, const struct custody_unlocked *u,
		       const struct custody_kek *new_pin, const struct custody_limits *lim)
{
	struct change_ctx c = {u, new_pin, lim, cf_now()};

	if (!st)
		return CF_EINTERNAL;
	return store_write(st, change_fn, &c);
}

/* ---- re-keying ------------------------------------------------------------------------------- */

void custody_rekey_wipe(struct custody_rekey *rk)
{
	if (rk)
		cf_zeroize(rk, sizeof(*rk));
}

int custody_rekey_prepare(const struct custody_unlocked *u, enum cf_key_type type, unsigned bits,
			  struct custody_rekey *out, cf_key **pub)
{
	struct custody_rekey *rk = NULL;
	cf_key *pair = NULL, *p = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int ret;

	if (!u || !out || !pub || !u->credential_id[0] || u->sealed_key_len == 0 ||
	    u->sealed_key_len > STORE_CUSTODY_KEY_MAX)
		return CF_EINTERNAL;
	if (u->proof != CUSTODY_PIN)
		return CF_EUNAUTHORIZED; /* a PUK only sets a new PIN (§22.5) */
	if (!type_ok(type, &bits))
		return CF_EBADKEY;
	if (!(rk = calloc(1, sizeof(*rk))) || !(der = malloc(DER_CAP))) {
		ret = CF_ENOMEM;
		goto out;
	}
	memcpy(rk->credential_id, u->credential_id, STORE_ID_LEN);
	rk->key_type = (int)type;
	rk->key_bits = bits;
	if ((ret = cf_sha256(u->sealed_key, u->sealed_key_len, rk->old_sealed_digest)) != 0 ||
	    (ret = cf_key_generate(type, bits, &pair)) != 0 ||
	    (ret = cf_key_pkcs8_der(pair, der, DER_CAP, &len)) != 0 ||
	    (ret = seal(u->dk, "key", rk->credential_id, der, len, rk->sealed_key)) != 0 ||
	    (ret = public_copy(pair, &p)) != 0)
		goto out;
	rk->sealed_key_len = len + NONCE_LEN + TAG_LEN;
	*out = *rk;
	*pub = p;
	p = NULL;
out:
	cf_key_free(pair); /* wipes the private key */
	cf_key_free(p);
	if (der) {
		cf_zeroize(der, DER_CAP);
		free(der);
	}
	custody_rekey_wipe(rk);
	free(rk);
	return ret;
}

/* rk was prepared with the sealed key u opened. */
static int rekey_matches(const struct custody_unlocked *u, const struct custody_rekey *rk)
{
	uint8_t d[32];
	int same;

	if (cf_sha256(u->sealed_key, u->sealed_key_len, d) != 0)
		return 0;
	same = memcmp(d, rk->old_sealed_digest, sizeof(d)) == 0;
	cf_zeroize(d, sizeof(d));
	return same;
}

int custody_rekey_txn(store_txn *txn, const struct custody_unlocked *u,
		      const struct custody_rekey *rk, const struct custody_kek *new_puk,
		      const struct custody_kek *new_pin, const struct custody_limits *lim,
		      int64_t now)
{
	struct store_custody *rec = NULL;
	int ret;

	if (!txn || !u || !rk || !new_puk || new_puk->proof != CUSTODY_PUK ||
	    (new_pin && new_pin->proof != CUSTODY_PIN) ||
	    strcmp(u->credential_id, rk->credential_id) != 0 || rk->sealed_key_len == 0 ||
	    rk->sealed_key_len > STORE_CUSTODY_KEY_MAX)
		return CF_EINTERNAL;
	if (!rekey_matches(u, rk))
		return CF_EINTERNAL; /* rk was made with another unlock */
	/* a re-key since the unlock replaced the key u opened: rk would undo it */
	if ((ret = rec_load_current(txn, u, &rec)) != 0)
		return ret;
	/* the same DK: a kept PIN's wrap still opens it */
	ret = seal(new_puk->key, "puk", rec->credential_id, u->dk, DK_LEN, rec->puk_wrap);
	if (ret == 0 && new_pin)
		ret = seal(new_pin->key, "pin", rec->credential_id, u->dk, DK_LEN, rec->pin_wrap);
	if (ret != 0)
		goto out;
	memcpy(rec->puk_salt, new_puk->salt, 16);
	rec->puk_iterations = new_puk->iterations;
	if (new_pin) {
		memcpy(rec->pin_salt, new_pin->salt, 16);
		rec->pin_iterations = new_pin->iterations;
	}
	cf_zeroize(rec->sealed_key, sizeof(rec->sealed_key));
	memcpy(rec->sealed_key, rk->sealed_key, rk->sealed_key_len);
	rec->sealed_key_len = rk->sealed_key_len;
	rec->key_type = rk->key_type;
	rec->key_bits = rk->key_bits;
	rec->pin_tries_left = max_pin(lim);
	rec->puk_tries_left = max_puk(lim);
	rec->state = CUSTODY_ACTIVE;
	rec->updated_at = now;
	ret = store_custody_put(txn, rec);
out:
	cf_zeroize(rec, sizeof(*rec));
	free(rec);
	return ret;
}

int custody_unlocked_attach(struct custody_unlocked *u, const struct store_custody *rec)
{
	if (!u || !rec || strcmp(u->credential_id, rec->credential_id) != 0 ||
	    rec->sealed_key_len > STORE_CUSTODY_KEY_MAX)
		return CF_EINTERNAL;
	if (rec->state == CUSTODY_REVOKED || rec->sealed_key_len == 0)
		return CF_EREVOKED;
	cf_zeroize(u->sealed_key, sizeof(u->sealed_key));
	memcpy(u->sealed_key, rec->sealed_key, rec->sealed_key_len);
	u->sealed_key_len = rec->sealed_key_len;
	return 0;
}

int custody_public_key(const struct custody_unlocked *u, cf_key **pub)
{
	cf_key *key = NULL;
	int ret;

	if (!u || !pub)
		return CF_EINTERNAL;
	if ((ret = custody_key_open(u, &key)) != 0)
		return ret;
	ret = public_copy(key, pub) == 0 ? 0 : CF_ECRYPTO;
	cf_key_free(key);
	return ret;
}

/* ---- using the key --------------------------------------------------------------------------- */

int custody_key_open(const struct custody_unlocked *u, cf_key **key)
{
	uint8_t *der;
	size_t n;
	int ret;

	if (!u || !key || u->sealed_key_len < NONCE_LEN + TAG_LEN ||
	    u->sealed_key_len > STORE_CUSTODY_KEY_MAX)
		return CF_EINTERNAL;
	n = u->sealed_key_len - NONCE_LEN - TAG_LEN;
	if (!(der = malloc(n ? n : 1)))
		return CF_ENOMEM;
	ret = open_sealed(u->dk, "key", u->credential_id, u->sealed_key, u->sealed_key_len, der);
	if (ret == 0)
		ret = cf_key_parse(der, n, key) == 0 ? 0 : CF_ECRYPTO;
	else
		ret = CF_ECRYPTO; /* a DK that opened its wrap always opens its key */
	cf_zeroize(der, n);
	free(der);
	return ret;
}

int custody_sign_hash(const struct custody_unlocked *u, const uint8_t *hashes, size_t hlen,
		      size_t n, struct custody_sig *sigs)
{
	cf_key *key = NULL;
	int ret;

	if (!u || !hashes || !sigs)
		return CF_EINTERNAL;
	if (u->proof != CUSTODY_PIN)
		return CF_EUNAUTHORIZED; /* a PUK only sets a new PIN (§22.5) */
	if ((hlen != 32 && hlen != 48 && hlen != 64) || n < 1 || n > CUSTODY_SIGN_BATCH_MAX)
		return CF_EMALFORMED;
	if ((ret = custody_key_open(u, &key)) != 0)
		return ret;
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cf_sign_digest(key, hashes + i * hlen, hlen, sigs[i].sig, sizeof(sigs[i].sig),
				     &sigs[i].len);
	cf_key_free(key); /* the clear key ends here */
	return ret == 0 ? 0 : CF_ECRYPTO;
}
