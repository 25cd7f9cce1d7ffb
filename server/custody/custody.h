/*
 * custody — server-held private keys of remote credentials (spec/protocol.md §22).
 *
 * A private key is sealed (AES-256-GCM) under a random data key DK; DK is wrapped under
 * KEK_pin and KEK_puk, KEK_x = HMAC-SHA-256(master key, PBKDF2-HMAC-SHA-256(x, salt_x, iter_x)).
 * A wrong PIN or PUK is a GCM tag failure on its wrap, counted in the write transaction that
 * tries it. The module never logs, stores or returns a clear key, PIN, PUK, DK or KEK; the
 * structs that hold one (custody_kek, custody_unlocked) are wiped by their _wipe function, and a
 * clear private key lives only inside custody_sign_hash (or between custody_key_open and
 * cf_key_free, which wipes it: mbedTLS zeroises every big number it frees).
 *
 * The slow part (PBKDF2) is custody_derive / custody_derive_new, outside any transaction; the
 * _txn functions are cheap and run inside the caller's store_write fn.
 */
#ifndef CUSTODY_H
#define CUSTODY_H

#include <stddef.h>
#include <stdint.h>

#include "cf_crypto.h"
#include "store.h"

#define CUSTODY_PIN_DIGITS 8 /* a PIN is exactly 8 digits */
#define CUSTODY_PUK_MIN 8    /* a PUK is 8..16 digits */
#define CUSTODY_PUK_MAX 16
#define CUSTODY_PUK_DIGITS 12	  /* the PUKs custody_secret_generate makes */
#define CUSTODY_PIN_MAX_TRIES 5	  /* default pinMaxTries */
#define CUSTODY_PUK_MAX_TRIES 10  /* default pukMaxTries */
#define CUSTODY_SIGN_BATCH_MAX 64 /* hashes per custody_sign_hash */
#define CUSTODY_SIG_MAX 512	  /* RSA-4096; DER ECDSA P-384 is at most 104 */

enum custody_proof { CUSTODY_PIN = 1, CUSTODY_PUK };

/* Counter maxima (configuration pin_max_tries, puk_max_tries); 0 or a NULL struct = defaults. */
struct custody_limits {
	int pin_max_tries;
	int puk_max_tries;
};

/* A key-encryption key derived from a PIN or PUK, with the salt and iteration count it was
 * derived with (so a wrap that changed meanwhile is told apart from a wrong secret). Secret:
 * wipe with custody_kek_wipe. */
struct custody_kek {
	int proof; /* enum custody_proof */
	uint8_t key[32];
	uint8_t salt[16];
	uint32_t iterations;
};

/* An unlocked data key and the sealed key it opens, for one operation outside the
 * transaction. Secret: wipe with custody_unlocked_wipe as soon as the operation is done. */
struct custody_unlocked {
	char credential_id[STORE_ID_LEN];
	int proof; /* how it was unlocked: only CUSTODY_PIN may sign */
	uint8_t dk[32];
	uint8_t sealed_key[STORE_CUSTODY_KEY_MAX];
	size_t sealed_key_len;
};

/* The verdict of one unlock attempt (§22.5). */
struct custody_result {
	/* 0 unlocked; CF_EBADPIN / CF_EBADPUK (counted, tries left); CF_EPINBLOCKED, CF_EREVOKED
	 * (counted when this wrong secret used the last try, else refused before any try);
	 * CF_ECONFLICT: the wrap changed since the derivation, nothing counted, derive again.
	 * The failure that uses the last try is answered with the lock's problem, as every counter
	 * does (spec/errors.md "Counters"). */
	int result;
	int attempts_left; /* of the proof used, after this attempt; -1 when not applicable */
	int counted; /* 1: this attempt was a wrong secret, counted (the record must commit) */
	int revoked; /* 1: this attempt exhausted the PUK and destroyed the key: the caller
			revokes the credential in the same transaction */
};

struct custody_sig {
	uint8_t sig[CUSTODY_SIG_MAX];
	size_t len;
};

/* ---- secrets and keys ------------------------------------------------------------------- */

/* 1 if secret has the shape of proof: a PIN is 8 ASCII digits, a PUK 8..16. */
int custody_secret_shape_ok(int proof, const char *secret);

/* A new random PIN (8 digits) or PUK (CUSTODY_PUK_DIGITS digits), uniform, from the CSPRNG, into
 * out (cap ≥ 17). The caller wipes it. CF_EINTERNAL for a bad proof or cap, CF_ECRYPTO. */
int custody_secret_generate(int proof, char *out, size_t cap);

/* The master key (§22.3): read the 32-octet file path (mode 0600 or stricter, else CF_EIO); when
 * it does not exist, create it exclusively with 32 random octets (mode 0600) — unless st holds
 * custody records, then CF_ENOTFOUND (the server must refuse to start). On an error, why (never
 * empty) says in a few plain words what is wrong with the file, never the key; nothing is logged,
 * so the caller prints its one line. mk is written on success only; the caller wipes it at exit. */
int custody_master_load(const char *path, store *st, uint8_t mk[32], char *why, size_t why_len);

/* KEK for an unlock: of secret as proof with the salt and iterations of rec's wrap. Slow (PBKDF2):
 * call outside transactions. CF_EMALFORMED if the secret has not the proof's shape, CF_EREVOKED
 * for a revoked record (nothing to derive against). */
int custody_derive(const uint8_t mk[32], const struct store_custody *rec, int proof,
		   const char *secret, struct custody_kek *out);

/* KEK for a new wrap (creation, PIN change): a fresh random salt and the given iterations
 * (1000..10,000,000: the server's kdf_iterations). Slow. CF_EMALFORMED, CF_EUSAGE. */
int custody_derive_new(const uint8_t mk[32], int proof, const char *secret, uint32_t iterations,
		       struct custody_kek *out);

void custody_kek_wipe(struct custody_kek *k);
void custody_unlocked_wipe(struct custody_unlocked *u);

/* ---- creation, unlock, PIN change, revocation ------------------------------------------- */

/* Make a key pair (CF_KEY_P256 (bits ignored, the default), CF_KEY_P384, or CF_KEY_RSA with 2048
 * or 3072 bits: CF_EBADKEY otherwise), seal it under a new DK wrapped under pin and puk (from
 * custody_derive_new), and fill *rec (credential_id, counters at their maxima, state active,
 * created_at = updated_at = now) for the caller to store_custody_put in its transaction. *pub
 * receives the public key (caller frees) for the CA. Slow for RSA: call outside transactions.
 * Nothing secret is left in memory. */
int custody_create(const char *credential_id, enum cf_key_type type, unsigned bits,
		   const struct custody_kek *pin, const struct custody_kek *puk,
		   const struct custody_limits *lim, int64_t now, struct store_custody *rec,
		   cf_key **pub);

/* Inside a write transaction: try kek on the record of credential_id and update its counters
 * (§22.5). Returns 0 when the transaction may commit — the verdict is res->result, and on
 * res->result 0 *out holds DK (the caller wipes it) — or a negative store/crypto error that
 * must abort the transaction (CF_ENOTFOUND: no custody record). A counted failure writes the
 * record: the caller must commit it (return 0 from its fn) even though it answers a problem. */
int custody_unlock_txn(store_txn *txn, const char *credential_id, const struct custody_kek *kek,
		       const struct custody_limits *lim, int64_t now, struct custody_result *res,
		       struct custody_unlocked *out);

/* Inside a write transaction: wrap u's DK under new_pin (a CUSTODY_PIN KEK of custody_derive_new),
 * reset pin_tries_left to its maximum and a blocked state to active (§22.6). CF_EREVOKED,
 * CF_ECONFLICT (the record's sealed key is not the one u opened), CF_ENOTFOUND, store errors. */
int custody_change_pin_txn(store_txn *txn, const struct custody_unlocked *u,
			   const struct custody_kek *new_pin, const struct custody_limits *lim,
			   int64_t now);

/* Inside a write transaction: destroy the key of credential_id (sealed key and wraps erased,
 * state revoked). CF_ENOTFOUND; a revoked record is left as it is (0). */
int custody_revoke_txn(store_txn *txn, const char *credential_id, int64_t now);

/* Whole journeys' building block: read the record, derive the KEK of secret, and run
 * custody_unlock_txn in one store_write, deriving again when a PIN change raced it. in_txn, when
 * not NULL, runs in the same transaction after the verdict (res filled) — e.g. to revoke the
 * credential when res->revoked and to append the audit event; its error aborts everything.
 * Returns res->result (0: *out holds DK, wipe it), CF_EMALFORMED (shape; nothing counted),
 * CF_ENOTFOUND, or a store error; res is always filled. */
int custody_unlock(store *st, const uint8_t mk[32], const char *credential_id, int proof,
		   const char *secret, const struct custody_limits *lim,
		   int (*in_txn)(store_txn *txn, const struct custody_result *res, void *ctx),
		   void *ctx, struct custody_result *res, struct custody_unlocked *out);

/* custody_change_pin_txn in its own store_write, after custody_derive_new(new PIN). */
int custody_change_pin(store *st, const struct custody_unlocked *u,
		       const struct custody_kek *new_pin, const struct custody_limits *lim);

/* ---- re-keying (renewal, update: §26) ----------------------------------------------------- */

/* A new key pair sealed under u's data key, made outside any transaction (slow for RSA). */
struct custody_rekey {
	char credential_id[STORE_ID_LEN];
	int key_type;
	uint32_t key_bits;
	uint8_t sealed_key[STORE_CUSTODY_KEY_MAX];
	size_t sealed_key_len;
	uint8_t old_sealed_digest[32]; /* SHA-256 of the sealed key u opened (conflict check) */
};

/* Make a key pair (type/bits as custody_create) and seal it under u's DK (aad kind "key").
 * *pub receives the public key (caller frees). u must have been unlocked with the PIN. */
int custody_rekey_prepare(const struct custody_unlocked *u, enum cf_key_type type, unsigned bits,
			  struct custody_rekey *out, cf_key **pub);

/* Inside a write transaction: replace the record's sealed key with rk's (CF_ECONFLICT if the
 * record's sealed key is no longer the one u opened), wrap the same DK under new_puk (a
 * CUSTODY_PUK KEK of custody_derive_new: the new envelope's PUK; required) and, when new_pin is
 * not NULL, under the new PIN (else the PIN wrap is kept: "keep the PIN"); both counters back to
 * their maxima, state active. CF_EREVOKED, CF_ENOTFOUND, store errors. */
int custody_rekey_txn(store_txn *txn, const struct custody_unlocked *u,
		      const struct custody_rekey *rk, const struct custody_kek *new_puk,
		      const struct custody_kek *new_pin, const struct custody_limits *lim,
		      int64_t now);
void custody_rekey_wipe(struct custody_rekey *rk);

/* Copy rec's sealed key into u, whose DK came from elsewhere (core_unpark_dk leaves
 * sealed_key_len 0): call it inside the transaction that reads rec, before using u.
 * CF_EREVOKED for a revoked record (no key), CF_EINTERNAL if rec is not u's credential. */
int custody_unlocked_attach(struct custody_unlocked *u, const struct store_custody *rec);

/* The public key of the credential's current custody key, opened with u (for issuing). */
int custody_public_key(const struct custody_unlocked *u, cf_key **pub);

/* ---- using the key ------------------------------------------------------------------------ */

/* Sign n hashes (n × hlen octets back to back; hlen 32, 48 or 64: SHA-256/384/512) with the key
 * u opens: sigs[i] is a DER Ecdsa-Sig-Value (EC, RFC 6979) or an RSASSA-PKCS1-v1_5 signature
 * over the DigestInfo (RSA), as §22.7. The clear key exists only during the call.
 * CF_EUNAUTHORIZED if u was unlocked with the PUK; CF_EMALFORMED for hlen or n (1..64);
 * CF_ECRYPTO. */
int custody_sign_hash(const struct custody_unlocked *u, const uint8_t *hashes, size_t hlen,
		      size_t n, struct custody_sig *sigs);

/* The clear key pair u opens, for one operation; cf_key_free wipes it. CF_ECRYPTO if u's DK does
 * not open its sealed key (never for an unlock's own u). */
int custody_key_open(const struct custody_unlocked *u, cf_key **key);

#endif
