/* test_park — bearer tokens and data keys parked under them (spec/protocol.md §22.9): token shape
 * and ids, the park/unpark round trip into a signing key (with custody_unlocked_attach), and that
 * a wrong token, another credential, another master key or a damaged blob opens nothing. */
#include "check.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"
#include "custody.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

#define CRED "01KAQ3Z9M6V4TS1X8W2Y5R7N0C"
#define CRED2 "01KAQ3Z9M6V4TS1X8W2Y5R7N0D"
#define PIN "20461937"
#define PUK "831204675519"

static struct core core;

static int b64url_only(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* A data key as an unlock gives it (no store needed for parking). */
static void make_dk(struct custody_unlocked *u, const char *id, int proof)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->credential_id, sizeof(u->credential_id), "%s", id);
	u->proof = proof;
	cf_random(u->dk, sizeof(u->dk));
}

static void test_tokens_are_43_base64url_chars_named_by_their_hmac(void)
{
	char t1[CORE_TOKEN_LEN], t2[CORE_TOKEN_LEN];
	char id1[STORE_TOKEN_ID_LEN], id2[STORE_TOKEN_ID_LEN], again[STORE_TOKEN_ID_LEN];

	CHECK_EQ_INT(core_token_new(&core, t1, id1), 0);
	CHECK_EQ_INT(core_token_new(&core, t2, id2), 0);
	CHECK_EQ_INT(strlen(t1), 43);
	CHECK_EQ_INT(strlen(id1), 43);
	CHECK(b64url_only(t1) && b64url_only(id1));
	CHECK(strcmp(t1, t2) != 0 && strcmp(id1, id2) != 0);
	CHECK(strcmp(t1, id1) != 0); /* the id is not the token */
	CHECK_EQ_INT(core_token_id(&core, t1, again), 0);
	CHECK_EQ_STR(again, id1);
	core.secret[0] ^= 1; /* another server secret names the token differently */
	CHECK_EQ_INT(core_token_id(&core, t1, again), 0);
	CHECK(strcmp(again, id1) != 0);
	core.secret[0] ^= 1;
	CHECK_EQ_INT(core_token_id(&core, "", again), CF_EMALFORMED);
}

static void test_parked_key_opens_only_with_its_token_and_credential(void)
{
	char token[CORE_TOKEN_LEN], other[CORE_TOKEN_LEN], id[STORE_TOKEN_ID_LEN];
	struct custody_unlocked u, out;
	uint8_t blob[STORE_WRAPPED_MAX];
	size_t len = 0;

	CHECK_EQ_INT(core_token_new(&core, token, id), 0);
	CHECK_EQ_INT(core_token_new(&core, other, id), 0);
	make_dk(&u, CRED, CUSTODY_PIN);
	CHECK_EQ_INT(core_park_dk(&core, token, &u, blob, sizeof(blob), &len), 0);
	CHECK_EQ_INT(len, 60);
	CHECK(memmem(blob, len, u.dk, sizeof(u.dk)) == NULL); /* never in clear */
	memset(&out, 0x5a, sizeof(out));
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len, CRED, &out), 0);
	CHECK_EQ_STR(out.credential_id, CRED);
	CHECK_EQ_INT(out.proof, CUSTODY_PIN);
	CHECK(memcmp(out.dk, u.dk, sizeof(u.dk)) == 0);
	CHECK_EQ_INT(out.sealed_key_len, 0);
	/* wrong token, another credential, damaged or cut blob: CF_ECRYPTO, out untouched */
	memset(&out, 0x5a, sizeof(out));
	CHECK_EQ_INT(core_unpark_dk(&core, other, blob, len, CRED, &out), CF_ECRYPTO);
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len, CRED2, &out), CF_ECRYPTO);
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len - 1, CRED, &out), CF_ECRYPTO);
	blob[20] ^= 1;
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len, CRED, &out), CF_ECRYPTO);
	blob[20] ^= 1;
	core.master[5] ^= 1; /* another master key */
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len, CRED, &out), CF_ECRYPTO);
	core.master[5] ^= 1;
	CHECK(out.proof == 0x5a5a5a5a && out.dk[0] == 0x5a && out.dk[31] == 0x5a);
	custody_unlocked_wipe(&u);
	cf_zeroize(token, sizeof(token));
}

static void test_puk_keys_and_missing_master_key_are_refused(void)
{
	char token[CORE_TOKEN_LEN], id[STORE_TOKEN_ID_LEN];
	struct custody_unlocked u, out;
	uint8_t blob[STORE_WRAPPED_MAX];
	size_t len = 0;

	CHECK_EQ_INT(core_token_new(&core, token, id), 0);
	make_dk(&u, CRED, CUSTODY_PUK);
	memset(blob, 0x77, sizeof(blob));
	CHECK_EQ_INT(core_park_dk(&core, token, &u, blob, sizeof(blob), &len), CF_EUNAUTHORIZED);
	u.proof = CUSTODY_PIN;
	CHECK_EQ_INT(core_park_dk(&core, token, &u, blob, 59, &len), CF_EINTERNAL);
	core.master_loaded = 0;
	CHECK_EQ_INT(core_park_dk(&core, token, &u, blob, sizeof(blob), &len), CF_EUNAVAILABLE);
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, 60, CRED, &out), CF_EUNAVAILABLE);
	core.master_loaded = 1;
	for (size_t i = 0; i < sizeof(blob); i++) /* a failed park leaves no DK behind */
		CHECK(blob[i] == 0 || blob[i] == 0x77);
	custody_unlocked_wipe(&u);
}

struct rec_ctx {
	struct store_custody rec;
};

static int put_fn(store_txn *t, void *p)
{
	return store_custody_put(t, &((struct rec_ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	return store_custody_get(t, CRED, &((struct rec_ctx *)p)->rec);
}

/* The journey's use: unlock with the PIN, park, later unpark, attach the record, sign. */
static void test_unparked_key_with_its_record_attached_signs(void)
{
	char dir[1024], token[CORE_TOKEN_LEN], id[STORE_TOKEN_ID_LEN];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct rec_ctx rc;
	struct custody_kek pin, puk;
	struct custody_result res;
	struct custody_unlocked u, out;
	struct custody_sig sig;
	uint8_t blob[STORE_WRAPPED_MAX], hash[32] = {9};
	size_t len = 0;
	cf_key *pub = NULL;

	CHECK(st != NULL);
	CHECK_EQ_INT(custody_derive_new(core.master, CUSTODY_PIN, PIN, 1000, &pin), 0);
	CHECK_EQ_INT(custody_derive_new(core.master, CUSTODY_PUK, PUK, 1000, &puk), 0);
	CHECK_EQ_INT(custody_create(CRED, CF_KEY_P256, 0, &pin, &puk, NULL, 1, &rc.rec, &pub), 0);
	custody_kek_wipe(&pin);
	custody_kek_wipe(&puk);
	CHECK_EQ_INT(store_write(st, put_fn, &rc), 0);
	CHECK_EQ_INT(
	    custody_unlock(st, core.master, CRED, CUSTODY_PIN, PIN, NULL, NULL, NULL, &res, &u), 0);
	CHECK_EQ_INT(core_token_new(&core, token, id), 0);
	CHECK_EQ_INT(core_park_dk(&core, token, &u, blob, sizeof(blob), &len), 0);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(core_unpark_dk(&core, token, blob, len, CRED, &out), 0);
	CHECK_EQ_INT(custody_sign_hash(&out, hash, sizeof(hash), 1, &sig), CF_EINTERNAL);
	CHECK_EQ_INT(store_read(st, get_fn, &rc), 0);
	CHECK_EQ_INT(custody_unlocked_attach(&out, &rc.rec), 0);
	CHECK_EQ_INT(custody_sign_hash(&out, hash, sizeof(hash), 1, &sig), 0);
	CHECK_EQ_INT(cf_verify_digest(pub, hash, sizeof(hash), sig.sig, sig.len), 0);
	/* another credential's record, or a revoked one, is not attached */
	snprintf(rc.rec.credential_id, sizeof(rc.rec.credential_id), CRED2);
	CHECK_EQ_INT(custody_unlocked_attach(&out, &rc.rec), CF_EINTERNAL);
	snprintf(rc.rec.credential_id, sizeof(rc.rec.credential_id), CRED);
	rc.rec.state = CUSTODY_REVOKED;
	CHECK_EQ_INT(custody_unlocked_attach(&out, &rc.rec), CF_EREVOKED);
	custody_unlocked_wipe(&out);
	cf_key_free(pub);
	cleanup(st);
}

/* signatures/signHash with a SAD record as authorize leaves it (§25.5): the SAD signs once, and
 * the used record keeps no parked key for a later copy of the database and a leaked SAD. */
struct sad_fx {
	struct rec_ctx key;
	struct store_credential cr;
	struct store_cert cert;
	struct store_session sad;
};

static int sad_put_fn(store_txn *t, void *p)
{
	struct sad_fx *f = p;
	int ret = store_custody_put(t, &f->key.rec);

	if (ret == 0)
		ret = store_credential_put(t, &f->cr);
	if (ret == 0)
		ret = store_cert_put(t, &f->cert, 0);
	return ret ? ret : store_session_put(t, &f->sad);
}

static int sad_get_fn(store_txn *t, void *p)
{
	struct sad_fx *f = p;

	return store_session_get(t, f->sad.id, &f->sad);
}

static void test_a_used_sad_signs_no_more_and_keeps_no_parked_key(void)
{
	static const struct core_who who = {"login:0000000001", "127.0.0.1", NULL};
	static struct sad_fx f;
	char dir[1024], sad[CORE_TOKEN_LEN];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct core_session s = {.id = "SESSIONID", .subject_id = "SUBJ1"};
	struct custody_kek pin, puk;
	struct custody_result res;
	struct custody_unlocked u;
	struct custody_sig sig;
	uint8_t hash[32] = {7};
	struct core_csc_hashes h = {CORE_OID_SHA256, hash, sizeof(hash), 1};
	int64_t now = cf_now();
	cf_key *pub = NULL;

	CHECK(st != NULL);
	core.st = st;
	CHECK_EQ_INT(custody_derive_new(core.master, CUSTODY_PIN, PIN, 1000, &pin), 0);
	CHECK_EQ_INT(custody_derive_new(core.master, CUSTODY_PUK, PUK, 1000, &puk), 0);
	CHECK_EQ_INT(custody_create(CRED, CF_KEY_P256, 0, &pin, &puk, NULL, 1, &f.key.rec, &pub),
		     0);
	custody_kek_wipe(&pin);
	custody_kek_wipe(&puk);
	snprintf(f.cr.id, sizeof(f.cr.id), CRED);
	snprintf(f.cr.subject_id, sizeof(f.cr.subject_id), "SUBJ1");
	snprintf(f.cr.profile, sizeof(f.cr.profile), "remote");
	snprintf(f.cr.current_serial, sizeof(f.cr.current_serial), "1a2b");
	f.cr.status = CRED_ACTIVE;
	f.cr.remote = 1;
	snprintf(f.cert.serial, sizeof(f.cert.serial), "1a2b");
	snprintf(f.cert.credential_id, sizeof(f.cert.credential_id), CRED);
	f.cert.status = CERT_VALID;
	f.cert.reason = -1;
	f.cert.not_before = now - 60;
	f.cert.not_after = now + 86400;
	f.cert.der_len = 3;
	memcpy(f.cert.der, "\x30\x01\x00", 3);
	/* the SAD record of credentials/authorize for this session, credential and hash */
	CHECK_EQ_INT(store_write(st, put_fn, &f.key), 0);
	CHECK_EQ_INT(
	    custody_unlock(st, core.master, CRED, CUSTODY_PIN, PIN, NULL, NULL, NULL, &res, &u), 0);
	CHECK_EQ_INT(core_token_new(&core, sad, f.sad.id), 0);
	f.sad.kind = SESS_SAD;
	f.sad.state = SESS_LIVE;
	snprintf(f.sad.subject_id, sizeof(f.sad.subject_id), "SUBJ1");
	snprintf(f.sad.credential_id, sizeof(f.sad.credential_id), CRED);
	snprintf(f.sad.parent, sizeof(f.sad.parent), "%s", s.id);
	f.sad.count = 1;
	f.sad.created_at = now;
	f.sad.expires_at = now + 300;
	CHECK_EQ_INT(core_csc_digest(CORE_OID_SHA256, hash, sizeof(hash), 1, f.sad.digest), 0);
	CHECK_EQ_INT(core_park_dk(&core, sad, &u, f.sad.blob, sizeof(f.sad.blob), &f.sad.blob_len),
		     0);
	custody_unlocked_wipe(&u);
	CHECK_EQ_INT(store_write(st, sad_put_fn, &f), 0);

	CHECK_EQ_INT(core_csc_sign(&core, &who, &s, CRED, sad, &h, "1.2.840.10045.4.3.2", &sig), 0);
	CHECK_EQ_INT(cf_verify_digest(pub, hash, sizeof(hash), sig.sig, sig.len), 0);
	CHECK_EQ_INT(store_read(st, sad_get_fn, &f), 0);
	CHECK_EQ_INT(f.sad.state, SESS_USED);
	CHECK_EQ_INT(f.sad.blob_len, 0);
	for (size_t i = 0; i < sizeof(f.sad.blob); i++)
		CHECK(f.sad.blob[i] == 0);
	CHECK_EQ_INT(core_csc_sign(&core, &who, &s, CRED, sad, &h, "1.2.840.10045.4.3.2", &sig),
		     CF_EBADSAD);
	cf_zeroize(sad, sizeof(sad));
	cf_key_free(pub);
	core.st = NULL;
	cleanup(st);
}

int main(void)
{
	cf_random(core.secret, sizeof(core.secret));
	cf_random(core.master, sizeof(core.master));
	core.master_loaded = 1;
	RUN(test_tokens_are_43_base64url_chars_named_by_their_hmac);
	RUN(test_parked_key_opens_only_with_its_token_and_credential);
	RUN(test_puk_keys_and_missing_master_key_are_refused);
	RUN(test_unparked_key_with_its_record_attached_signs);
	RUN(test_a_used_sad_signs_no_more_and_keeps_no_parked_key);
	return check_done();
}
