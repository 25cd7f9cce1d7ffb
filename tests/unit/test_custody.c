/* test_custody — server-held keys (spec/protocol.md §22) on a real store in a temporary
 * directory: create, unlock, sign (verified by openssl), the PIN and PUK counters (also across a
 * reopen and under concurrent guesses), PIN change, re-keying, destruction, and that neither a copy
 * of the database nor the database with the right PIN but another master key yields the key. */
#include "check.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "custody.h"
#include "store.h"
#include "test_store_util.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#define CRED "01KAQ3Z9M6V4TS1X8W2Y5R7N0C"
#define CRED2 "01KAQ3Z9M6V4TS1X8W2Y5R7N0D"
#define PIN "20461937"
#define PIN2 "55150832"
#define WRONG_PIN "99999999"
#define PUK "831204675519"
#define WRONG_PUK "000000000000"
#define ITER 1000 /* the minimum: the tests derive many keys */

static uint8_t mk[32], mk_other[32];

/* ---- fixtures -------------------------------------------------------------------------------- */

struct put_ctx {
	struct store_custody *rec;
	const char *id;
};

static int put_fn(store_txn *t, void *p)
{
	return store_custody_put(t, ((struct put_ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct put_ctx *c = p;
	return store_custody_get(t, c->id, c->rec);
}

static struct store_custody *rec_get(store *st, const char *id)
{
	static struct store_custody rec;
	struct put_ctx c = {&rec, id};

	memset(&rec, 0, sizeof(rec));
	return store_read(st, get_fn, &c) == 0 ? &rec : NULL;
}

/* A custody record for id with PIN and PUK under master key m, stored; *pub its public key. */
static int make_key(store *st, const uint8_t m[32], const char *id, enum cf_key_type type,
		    unsigned bits, cf_key **pub)
{
	struct custody_kek pin, puk;
	struct store_custody *rec = calloc(1, sizeof(*rec));
	struct put_ctx c = {rec, id};
	cf_key *p = NULL;
	int ret = custody_derive_new(m, CUSTODY_PIN, PIN, ITER, &pin);

	if (ret == 0)
		ret = custody_derive_new(m, CUSTODY_PUK, PUK, ITER, &puk);
	if (ret == 0)
		ret = custody_create(id, type, bits, &pin, &puk, NULL, 1700000000, rec, &p);
	if (ret == 0)
		ret = store_write(st, put_fn, &c);
	custody_kek_wipe(&pin);
	custody_kek_wipe(&puk);
	free(rec);
	if (pub)
		*pub = p;
	else
		cf_key_free(p);
	return ret;
}

static int unlock(store *st, const uint8_t m[32], const char *id, int proof, const char *secret,
		  struct custody_result *res, struct custody_unlocked *u)
{
	return custody_unlock(st, m, id, proof, secret, NULL, NULL, NULL, res, u);
}

/* Unlock id with PIN and check the verdict is `want`; returns attempts_left. */
static int try_pin(store *st, const char *pin, int want)
{
	struct custody_result res;
	struct custody_unlocked u;
	int ret = unlock(st, mk, CRED, CUSTODY_PIN, pin, &res, &u);

	CHECK_EQ_INT(ret, want);
	CHECK_EQ_INT(res.result, want);
	if (ret == 0)
		custody_unlocked_wipe(&u);
	return res.attempts_left;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(data, 1, len, f) == len);
		fclose(f);
	}
}

/* 1 if `openssl dgst -sha256 -verify` accepts sig over msg by pub. */
static int openssl_verifies(const cf_key *pub, const char *msg, const uint8_t *sig, size_t len)
{
	char p_pub[700], p_msg[700], p_sig[700], cmd[2400], out[256] = "";
	uint8_t *der = NULL;
	size_t der_len = 0;
	FILE *f;

	snprintf(p_pub, sizeof(p_pub), "%s/pub.der", tmp_root);
	snprintf(p_msg, sizeof(p_msg), "%s/msg.txt", tmp_root);
	snprintf(p_sig, sizeof(p_sig), "%s/sig.bin", tmp_root);
	if (cf_key_spki_der(pub, &der, &der_len) != 0)
		return 0;
	write_file(p_pub, der, der_len);
	free(der);
	write_file(p_msg, msg, strlen(msg));
	write_file(p_sig, sig, len);
	snprintf(cmd, sizeof(cmd),
		 "openssl dgst -sha256 -verify '%s' -keyform DER -signature '%s' '%s' 2>&1", p_pub,
		 p_sig, p_msg);
	if (!(f = popen(cmd, "r")))
		return 0;
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	pclose(f);
	return strncmp(out, "Verified OK", 11) == 0;
}

static int memmem_file(const char *path, const void *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;
	struct stat sb;
	int found = -1;

	if (!f || fstat(fileno(f), &sb) != 0 || !(buf = malloc((size_t)sb.st_size + 1))) {
		if (f)
			fclose(f);
		return -1;
	}
	len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	if (len == (size_t)sb.st_size)
		found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void sign_and_verify(enum cf_key_type type, unsigned bits)
{
	const char *msg = "a document to sign remotely\n";
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_sig sig;
	cf_key *pub = NULL;
	uint8_t hash[32];

	CHECK_EQ_INT(make_key(st, mk, CRED, type, bits, &pub), 0);
	CHECK(pub != NULL && cf_key_type(pub) == type);
	CHECK_EQ_INT(rec_get(st, CRED)->key_type, type);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 5);
	CHECK_EQ_INT(rec_get(st, CRED)->puk_tries_left, 10);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_ACTIVE);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(res.attempts_left, 5);
	cf_sha256(msg, strlen(msg), hash);
	CHECK_EQ_INT(custody_sign_hash(&u, hash, sizeof(hash), 1, &sig), 0);
	CHECK_EQ_INT(cf_verify_digest(pub, hash, sizeof(hash), sig.sig, sig.len), 0);
	CHECK(openssl_verifies(pub, msg, sig.sig, sig.len));
	sig.sig[sig.len / 2] ^= 1;
	CHECK(!openssl_verifies(pub, msg, sig.sig, sig.len));
	custody_unlocked_wipe(&u);
	cf_key_free(pub);
	cleanup(st);
}

static void test_p256_key_signs_a_hash_that_openssl_verifies(void)
{
	sign_and_verify(CF_KEY_P256, 0);
}

static void test_rsa2048_key_signs_a_hash_that_openssl_verifies(void)
{
	sign_and_verify(CF_KEY_RSA, 2048);
}

static void test_rsa3072_key_fits_the_record(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_RSA, 3072, NULL), 0);
	CHECK(rec_get(st, CRED)->sealed_key_len > 1700);
	CHECK_EQ_INT(rec_get(st, CRED)->key_bits, 3072);
	cleanup(st);
}

static void test_unsupported_key_types_are_refused(void)
{
	struct custody_kek pin, puk;
	struct store_custody *rec = calloc(1, sizeof(*rec));
	cf_key *pub = NULL;

	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PIN, PIN, ITER, &pin), 0);
	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PUK, PUK, ITER, &puk), 0);
	CHECK_EQ_INT(custody_create(CRED, CF_KEY_RSA, 1024, &pin, &puk, NULL, 0, rec, &pub),
		     CF_EBADKEY);
	CHECK_EQ_INT(custody_create(CRED, CF_KEY_RSA, 4096, &pin, &puk, NULL, 0, rec, &pub),
		     CF_EBADKEY);
	/* PIN and PUK keys swapped */
	CHECK_EQ_INT(custody_create(CRED, CF_KEY_P256, 0, &puk, &pin, NULL, 0, rec, &pub),
		     CF_EINTERNAL);
	CHECK(pub == NULL);
	free(rec);
}

static void test_batch_of_sha384_and_sha512_hashes_is_signed(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_sig sigs[3];
	uint8_t hashes[3 * 64];
	cf_key *pub = NULL;

	for (size_t i = 0; i < sizeof(hashes); i++)
		hashes[i] = (uint8_t)(i * 13);
	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, &pub), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(custody_sign_hash(&u, hashes, 48, 3, sigs), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cf_verify_digest(pub, hashes + i * 48, 48, sigs[i].sig, sigs[i].len),
			     0);
	CHECK_EQ_INT(custody_sign_hash(&u, hashes, 64, 3, sigs), 0);
	CHECK_EQ_INT(cf_verify_digest(pub, hashes + 64, 64, sigs[1].sig, sigs[1].len), 0);
	CHECK_EQ_INT(custody_sign_hash(&u, hashes, 20, 1, sigs), CF_EMALFORMED);
	CHECK_EQ_INT(custody_sign_hash(&u, hashes, 32, 0, sigs), CF_EMALFORMED);
	custody_unlocked_wipe(&u);
	cf_key_free(pub);
	cleanup(st);
}

static void test_wrong_pins_count_down_across_reopen_and_the_fifth_answers_blocked(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 4);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 3);
	/* the counter lives in the record: a restart does not reset it */
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_open(dir, NULL, &st), 0);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 3);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 2);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 1);
	/* the fifth is counted and answered like every later try: blocked (spec/errors.md Counters)
	 */
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EPINBLOCKED), 0);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_BLOCKED);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EPINBLOCKED), 0); /* even the right PIN */
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EPINBLOCKED), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_open(dir, NULL, &st), 0);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EPINBLOCKED), 0);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 0);
	cleanup(st);
}

static void test_right_pin_resets_the_pin_counter_only(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, WRONG_PUK, &res, &u), CF_EBADPUK);
	CHECK_EQ_INT(res.attempts_left, 9);
	try_pin(st, WRONG_PIN, CF_EBADPIN);
	try_pin(st, WRONG_PIN, CF_EBADPIN);
	CHECK_EQ_INT(try_pin(st, PIN, 0), 5);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 5);
	CHECK_EQ_INT(rec_get(st, CRED)->puk_tries_left, 9);
	cleanup(st);
}

static void test_malformed_secrets_are_refused_uncounted(void)
{
	const char *bad_pins[] = {"",	      "1234567",   "123456789",
				  "1234567a", " 12345678", "１２３４５６７８"};
	const char *bad_puks[] = {"1234567", "12345678901234567", "12345678-9"};
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	for (size_t i = 0; i < sizeof(bad_pins) / sizeof(bad_pins[0]); i++)
		CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, bad_pins[i], &res, &u),
			     CF_EMALFORMED);
	for (size_t i = 0; i < sizeof(bad_puks) / sizeof(bad_puks[0]); i++)
		CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, bad_puks[i], &res, &u),
			     CF_EMALFORMED);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, NULL, &res, &u), CF_EMALFORMED);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 5);
	CHECK_EQ_INT(rec_get(st, CRED)->puk_tries_left, 10);
	CHECK(custody_secret_shape_ok(CUSTODY_PUK, "1234567890123456"));
	CHECK(custody_secret_shape_ok(CUSTODY_PUK, "12345678"));
	CHECK_EQ_INT(unlock(st, mk, CRED2, CUSTODY_PIN, PIN, &res, &u), CF_ENOTFOUND);
	cleanup(st);
}

static void test_puk_and_new_pin_unblock_and_puk_alone_cannot_sign(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_kek kek;
	struct custody_sig sig;
	uint8_t hash[32] = {1};

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	for (int i = 0; i < 5; i++)
		try_pin(st, WRONG_PIN, i < 4 ? CF_EBADPIN : CF_EPINBLOCKED);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_BLOCKED);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK, &res, &u), 0);
	CHECK_EQ_INT(res.attempts_left, 10);
	/* a PUK unlock unblocks nothing by itself, and cannot sign */
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_BLOCKED);
	CHECK_EQ_INT(custody_sign_hash(&u, hash, sizeof(hash), 1, &sig), CF_EUNAUTHORIZED);
	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PIN, PIN2, ITER, &kek), 0);
	CHECK_EQ_INT(custody_change_pin(st, &u, &kek, NULL), 0);
	custody_kek_wipe(&kek);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_ACTIVE);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 5);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EBADPIN), 4); /* the old PIN is gone */
	CHECK_EQ_INT(try_pin(st, PIN2, 0), 5);
	cleanup(st);
}

static void test_changing_the_pin_retires_the_old_one(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_kek kek;
	struct custody_sig sig;
	uint8_t hash[32] = {2};
	cf_key *pub = NULL;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, &pub), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PIN, PIN2, ITER * 2, &kek), 0);
	CHECK_EQ_INT(custody_change_pin(st, &u, &kek, NULL), 0);
	custody_kek_wipe(&kek);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_iterations, ITER * 2);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EBADPIN), 4);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN2, &res, &u), 0);
	CHECK_EQ_INT(custody_sign_hash(&u, hash, sizeof(hash), 1, &sig), 0);
	CHECK_EQ_INT(cf_verify_digest(pub, hash, sizeof(hash), sig.sig, sig.len), 0);
	/* the PUK still opens the same key */
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK, &res, &u), 0);
	custody_unlocked_wipe(&u);
	cf_key_free(pub);
	cleanup(st);
}

/* One custody_unlock_txn with a KEK derived beforehand. */
struct raw_ctx {
	const struct custody_kek *kek;
	struct custody_result res;
	struct custody_unlocked u;
};

static int raw_unlock_fn(store_txn *t, void *p)
{
	struct raw_ctx *c = p;
	return custody_unlock_txn(t, CRED, c->kek, NULL, 1, &c->res, &c->u);
}

static void test_unlock_racing_a_pin_change_counts_nothing(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u, u2;
	struct custody_kek old, kek;
	struct raw_ctx c;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	/* derived against the wrap of now ... */
	CHECK_EQ_INT(custody_derive(mk, rec_get(st, CRED), CUSTODY_PIN, WRONG_PIN, &old), 0);
	/* ... which a PIN change replaces before the unlock's transaction runs */
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PIN, PIN2, ITER, &kek), 0);
	CHECK_EQ_INT(custody_change_pin(st, &u, &kek, NULL), 0);
	c.kek = &old;
	CHECK_EQ_INT(store_write(st, raw_unlock_fn, &c), 0);
	CHECK_EQ_INT(c.res.result, CF_ECONFLICT);
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 5);
	/* an unlock from before a re-key cannot rewrap the new key's record */
	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(custody_change_pin(st, &u, &kek, NULL), CF_ECONFLICT);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u2), 0);
	custody_unlocked_wipe(&u2);
	custody_unlocked_wipe(&u);
	custody_kek_wipe(&kek);
	custody_kek_wipe(&old);
	cleanup(st);
}

static int revoked_seen;

static int on_verdict(store_txn *t, const struct custody_result *res, void *ctx)
{
	(void)t;
	(void)ctx;
	revoked_seen += res->revoked;
	return 0;
}

static void test_exhausted_puk_destroys_the_key(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct store_custody *rec;
	static const uint8_t zero[STORE_CUSTODY_WRAP_LEN];

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	revoked_seen = 0;
	for (int i = 9; i >= 0; i--) {
		/* the last wrong PUK is answered as every later try: revoked */
		CHECK_EQ_INT(custody_unlock(st, mk, CRED, CUSTODY_PUK, WRONG_PUK, NULL, on_verdict,
					    NULL, &res, &u),
			     i > 0 ? CF_EBADPUK : CF_EREVOKED);
		CHECK_EQ_INT(res.attempts_left, i);
		CHECK_EQ_INT(res.revoked, i == 0);
		CHECK_EQ_INT(res.counted, 1);
	}
	CHECK_EQ_INT(revoked_seen, 1); /* the caller revokes the credential in that transaction */
	rec = rec_get(st, CRED);
	CHECK_EQ_INT(rec->state, CUSTODY_REVOKED);
	CHECK_EQ_INT(rec->sealed_key_len, 0);
	CHECK(memcmp(rec->pin_wrap, zero, sizeof(zero)) == 0);
	CHECK(memcmp(rec->puk_wrap, zero, sizeof(zero)) == 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK, &res, &u), CF_EREVOKED);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), CF_EREVOKED);
	cleanup(st);
}

static int revoke_fn(store_txn *t, void *p)
{
	(void)p;
	return custody_revoke_txn(t, CRED, 5);
}

static void test_revocation_destroys_the_key(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(store_write(st, revoke_fn, NULL), 0);
	CHECK_EQ_INT(store_write(st, revoke_fn, NULL), 0);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_REVOKED);
	CHECK_EQ_INT(rec_get(st, CRED)->sealed_key_len, 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), CF_EREVOKED);
	cleanup(st);
}

static void test_wraps_are_bound_to_their_credential(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_custody *moved = calloc(1, sizeof(*moved));
	struct put_ctx c = {moved, CRED2};
	struct custody_result res;
	struct custody_unlocked u;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	*moved = *rec_get(st, CRED);
	strcpy(moved->credential_id, CRED2); /* the whole record copied to another credential */
	CHECK_EQ_INT(store_write(st, put_fn, &c), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED2, CUSTODY_PIN, PIN, &res, &u), CF_EBADPIN);
	CHECK_EQ_INT(unlock(st, mk, CRED2, CUSTODY_PUK, PUK, &res, &u), CF_EBADPUK);
	free(moved);
	cleanup(st);
}

/* THE KEY TEST (§22.1): the database files hold no clear key, and a copy of them with the right
 * PIN but another master key yields nothing. */
static void test_database_copy_and_right_pin_without_master_key_yield_nothing(void)
{
	char dir[1024], copy[1100], file[1200];
	store *st = store_test_open(dir, sizeof(dir), NULL), *cp = NULL;
	struct custody_result res;
	struct custody_unlocked u;
	cf_key *key = NULL;
	uint8_t der[2400], *d = NULL;
	size_t der_len = 0;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	snprintf(copy, sizeof(copy), "%s/copy", tmp_root);
	CHECK_EQ_INT(store_backup(st, copy), 0);
	/* the private key and its scalar d, as the holder's PIN opens them */
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(custody_key_open(&u, &key), 0);
	CHECK_EQ_INT(cf_key_pkcs8_der(key, der, sizeof(der), &der_len), 0);
	cf_key_free(key);
	/* ECPrivateKey ::= SEQUENCE { INTEGER 1, OCTET STRING (32) d, ... } */
	d = memmem(der, der_len, "\x02\x01\x01\x04\x20", 5);
	CHECK(d != NULL);
	store_close(st);
	st = NULL;
	for (int i = 0; i < 2 && d; i++) {
		snprintf(file, sizeof(file), "%s/data.mdb", i == 0 ? dir : copy);
		CHECK_EQ_INT(memmem_file(file, der, der_len), 0);
		CHECK_EQ_INT(memmem_file(file, d + 5, 32), 0);
		CHECK_EQ_INT(memmem_file(file, u.dk, sizeof(u.dk)), 0);
		CHECK_EQ_INT(memmem_file(file, PIN, strlen(PIN)), 0);
		CHECK_EQ_INT(memmem_file(file, PUK, strlen(PUK)), 0);
	}
	custody_unlocked_wipe(&u);
	/* the copy, the right PIN and PUK, another master key: the wraps do not open */
	CHECK_EQ_INT(store_open(copy, NULL, &cp), 0);
	memset(&u, 0, sizeof(u));
	CHECK_EQ_INT(unlock(cp, mk_other, CRED, CUSTODY_PIN, PIN, &res, &u), CF_EBADPIN);
	CHECK_EQ_INT(unlock(cp, mk_other, CRED, CUSTODY_PUK, PUK, &res, &u), CF_EBADPUK);
	CHECK(u.sealed_key_len == 0); /* nothing handed out */
	/* the same copy with the master key does open: it was the master key that was missing */
	CHECK_EQ_INT(unlock(cp, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	custody_unlocked_wipe(&u);
	store_close(cp);
	cleanup(NULL);
}

/* ---- brute force under concurrency ----------------------------------------------------------- */

#define THREADS 8

struct guess {
	store *st;
	pthread_barrier_t *go;
	int ret, left, counted;
};

static void *guess_thread(void *p)
{
	struct guess *g = p;
	struct custody_result res;
	struct custody_unlocked u;

	pthread_barrier_wait(g->go);
	g->ret = unlock(g->st, mk, CRED, CUSTODY_PIN, WRONG_PIN, &res, &u);
	g->left = res.attempts_left;
	g->counted = res.counted;
	return NULL;
}

static void test_racing_wrong_pins_are_counted_exactly_to_the_limit(void)
{
	char dir[1024];
	struct store_opts so = {.group_commit = 1}; /* as certflowd runs it */
	store *st = store_test_open(dir, sizeof(dir), &so);
	pthread_t th[THREADS];
	struct guess g[THREADS];
	pthread_barrier_t go;
	int bad = 0, blocked = 0, seen[5] = {0};

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	pthread_barrier_init(&go, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		g[i] = (struct guess){st, &go, 0, -1, 0};
		CHECK_EQ_INT(pthread_create(&th[i], NULL, guess_thread, &g[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < THREADS; i++) {
		if (g[i].ret == CF_EBADPIN && g[i].left >= 1 && g[i].left < 5) {
			bad++;
			seen[g[i].left]++;
		} else if (g[i].ret == CF_EPINBLOCKED && g[i].counted && g[i].left == 0) {
			seen[0]++; /* the fifth: counted, answered blocked */
		} else if (g[i].ret == CF_EPINBLOCKED && !g[i].counted) {
			blocked++;
		}
	}
	CHECK_EQ_INT(bad, 4);
	CHECK_EQ_INT(blocked, THREADS - 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(seen[i], 1); /* 4, 3, 2, 1, 0: each count told exactly once */
	CHECK_EQ_INT(rec_get(st, CRED)->pin_tries_left, 0);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_BLOCKED);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EPINBLOCKED), 0);
	cleanup(st);
}

/* ---- master key file ------------------------------------------------------------------------- */

static void test_master_key_file_is_made_once_and_required_once_keys_exist(void)
{
	char dir[1024], path[1100], why[128];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	uint8_t a[32], b[32];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/master.key", tmp_root);
	CHECK_EQ_INT(custody_master_load(path, st, a, why, sizeof(why)), 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	CHECK_EQ_INT(custody_master_load(path, st, b, why, sizeof(why)), 0);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK_EQ_INT(make_key(st, a, CRED, CF_KEY_P256, 0, NULL), 0);
	chmod(path, 0640);
	CHECK_EQ_INT(custody_master_load(path, st, b, why, sizeof(why)), CF_EIO);
	CHECK(strstr(why, "0600") != NULL); /* the reason for the caller's one line */
	unlink(path);
	memset(b, 0x55, sizeof(b));
	CHECK_EQ_INT(custody_master_load(path, st, b, why, sizeof(why)), CF_ENOTFOUND);
	CHECK(b[0] == 0x55 && stat(path, &sb) != 0); /* nothing made, nothing written */
	CHECK(strstr(why, "missing") != NULL);
	cleanup(st);
}

/* ---- re-keying (renewal, update: §22.9) ------------------------------------------------------ */

#define PUK2 "407719260385"
#define PIN3 "71820364"

struct rekey_ctx {
	const struct custody_unlocked *u;
	const struct custody_rekey *rk;
	const struct custody_kek *puk, *pin;
};

static int rekey_fn(store_txn *t, void *p)
{
	struct rekey_ctx *c = p;
	return custody_rekey_txn(t, c->u, c->rk, c->puk, c->pin, NULL, 1700000500);
}

/* Re-key CRED with u (a new P-384 key; new PUK PUK2, new PIN pin or NULL = keep): the store_write
 * result; *pub the new public key. */
static int rekey(store *st, const struct custody_unlocked *u, const char *pin, cf_key **pub)
{
	struct custody_rekey rk;
	struct custody_kek puk_kek, pin_kek;
	struct rekey_ctx c = {u, &rk, &puk_kek, pin ? &pin_kek : NULL};
	int ret = custody_rekey_prepare(u, CF_KEY_P384, 0, &rk, pub);

	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PUK, PUK2, ITER, &puk_kek), 0);
	if (pin)
		CHECK_EQ_INT(custody_derive_new(mk, CUSTODY_PIN, pin, ITER, &pin_kek), 0);
	if (ret == 0)
		ret = store_write(st, rekey_fn, &c);
	custody_kek_wipe(&puk_kek);
	custody_kek_wipe(&pin_kek);
	custody_rekey_wipe(&rk);
	return ret;
}

static void test_rekey_keeps_the_pin_and_signs_with_the_new_key(void)
{
	const char *msg = "signed after the renewal\n";
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_sig sig;
	cf_key *old_pub = NULL, *new_pub = NULL, *got = NULL;
	uint8_t hash[32];

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, &old_pub), 0);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 4);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK, &res, &u), 0);
	/* a PUK unlock cannot re-key (§22.5: it only sets a PIN) */
	CHECK_EQ_INT(custody_rekey_prepare(&u, CF_KEY_P256, 0, &(struct custody_rekey){0}, &got),
		     CF_EUNAUTHORIZED);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 3);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(rekey(st, &u, NULL, &new_pub), 0);
	custody_unlocked_wipe(&u);
	CHECK(new_pub != NULL && cf_key_type(new_pub) == CF_KEY_P384);
	CHECK_EQ_INT(rec_get(st, CRED)->key_type, CF_KEY_P384);
	CHECK_EQ_INT(rec_get(st, CRED)->key_bits, 384);
	CHECK_EQ_INT(rec_get(st, CRED)->puk_tries_left, 10);
	CHECK_EQ_INT(rec_get(st, CRED)->state, CUSTODY_ACTIVE);
	CHECK_EQ_INT(rec_get(st, CRED)->updated_at, 1700000500);
	/* the kept PIN opens the new key; its signature verifies under the new public key only */
	CHECK_EQ_INT(try_pin(st, WRONG_PIN, CF_EBADPIN), 4); /* counters went back to 5 */
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(custody_public_key(&u, &got), 0);
	CHECK(got && cf_key_public_equal(got, new_pub));
	cf_sha256(msg, strlen(msg), hash);
	CHECK_EQ_INT(custody_sign_hash(&u, hash, sizeof(hash), 1, &sig), 0);
	CHECK(openssl_verifies(new_pub, msg, sig.sig, sig.len));
	CHECK(!openssl_verifies(old_pub, msg, sig.sig, sig.len));
	custody_unlocked_wipe(&u);
	/* the old PUK no longer opens it; the new one does */
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK, &res, &u), CF_EBADPUK);
	CHECK_EQ_INT(res.attempts_left, 9);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PUK, PUK2, &res, &u), 0);
	custody_unlocked_wipe(&u);
	cf_key_free(old_pub);
	cf_key_free(new_pub);
	cf_key_free(got);
	cleanup(st);
}

static void test_rekey_with_a_new_pin_retires_the_old_pin(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_sig sig;
	cf_key *new_pub = NULL;
	uint8_t hash[32] = {7};

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u), 0);
	CHECK_EQ_INT(rekey(st, &u, PIN3, &new_pub), 0);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(try_pin(st, PIN, CF_EBADPIN), 4);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN3, &res, &u), 0);
	CHECK_EQ_INT(res.attempts_left, 5);
	CHECK_EQ_INT(custody_sign_hash(&u, hash, sizeof(hash), 1, &sig), 0);
	CHECK_EQ_INT(cf_verify_digest(new_pub, hash, sizeof(hash), sig.sig, sig.len), 0);
	custody_unlocked_wipe(&u);
	cf_key_free(new_pub);
	cleanup(st);
}

static void test_stale_rekey_is_a_conflict_and_writes_nothing(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_custody *after = calloc(1, sizeof(*after));
	struct custody_result res;
	struct custody_unlocked u1, u2;
	cf_key *pub1 = NULL, *pub2 = NULL, *pub3 = NULL, *pub4 = NULL;

	CHECK_EQ_INT(make_key(st, mk, CRED, CF_KEY_P256, 0, NULL), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u1), 0);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u2), 0);
	CHECK_EQ_INT(rekey(st, &u1, NULL, &pub1), 0); /* the first renewal wins */
	*after = *rec_get(st, CRED);
	CHECK_EQ_INT(rekey(st, &u2, PIN3, &pub2), CF_ECONFLICT);
	CHECK(memcmp(after, rec_get(st, CRED), sizeof(*after)) == 0);
	/* the winner's own unlock opened the key it replaced: stale now too */
	CHECK_EQ_INT(rekey(st, &u1, NULL, &pub3), CF_ECONFLICT);
	custody_unlocked_wipe(&u1);
	custody_unlocked_wipe(&u2);
	CHECK_EQ_INT(unlock(st, mk, CRED, CUSTODY_PIN, PIN, &res, &u1), 0);
	CHECK_EQ_INT(store_write(st, revoke_fn, NULL), 0);
	CHECK_EQ_INT(rekey(st, &u1, NULL, &pub4), CF_EREVOKED);
	custody_unlocked_wipe(&u1);
	cf_key_free(pub1);
	cf_key_free(pub2);
	cf_key_free(pub3);
	cf_key_free(pub4);
	free(after);
	cleanup(st);
}

static void test_generated_pins_and_puks_have_their_shapes(void)
{
	char s[17];

	for (int i = 0; i < 50; i++) {
		CHECK_EQ_INT(custody_secret_generate(CUSTODY_PIN, s, sizeof(s)), 0);
		CHECK(strlen(s) == 8 && custody_secret_shape_ok(CUSTODY_PIN, s));
		CHECK_EQ_INT(custody_secret_generate(CUSTODY_PUK, s, sizeof(s)), 0);
		CHECK(strlen(s) == CUSTODY_PUK_DIGITS && custody_secret_shape_ok(CUSTODY_PUK, s));
	}
	CHECK_EQ_INT(custody_secret_generate(CUSTODY_PIN, s, 8), CF_EINTERNAL);
}

int main(void)
{
	cf_random(mk, sizeof(mk));
	cf_random(mk_other, sizeof(mk_other));
	RUN(test_p256_key_signs_a_hash_that_openssl_verifies);
	RUN(test_rsa2048_key_signs_a_hash_that_openssl_verifies);
	RUN(test_rsa3072_key_fits_the_record);
	RUN(test_unsupported_key_types_are_refused);
	RUN(test_batch_of_sha384_and_sha512_hashes_is_signed);
	RUN(test_wrong_pins_count_down_across_reopen_and_the_fifth_answers_blocked);
	RUN(test_right_pin_resets_the_pin_counter_only);
	RUN(test_malformed_secrets_are_refused_uncounted);
	RUN(test_puk_and_new_pin_unblock_and_puk_alone_cannot_sign);
	RUN(test_changing_the_pin_retires_the_old_one);
	RUN(test_unlock_racing_a_pin_change_counts_nothing);
	RUN(test_exhausted_puk_destroys_the_key);
	RUN(test_revocation_destroys_the_key);
	RUN(test_wraps_are_bound_to_their_credential);
	RUN(test_database_copy_and_right_pin_without_master_key_yield_nothing);
	RUN(test_racing_wrong_pins_are_counted_exactly_to_the_limit);
	RUN(test_master_key_file_is_made_once_and_required_once_keys_exist);
	RUN(test_generated_pins_and_puks_have_their_shapes);
	RUN(test_rekey_keeps_the_pin_and_signs_with_the_new_key);
	RUN(test_rekey_with_a_new_pin_retires_the_old_pin);
	RUN(test_stale_rekey_is_a_conflict_and_writes_nothing);
	return check_done();
}
