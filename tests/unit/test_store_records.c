/* test_store_records — every record type through the store, its indexes and its walks. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

/* ---- fixtures ---- */

static void make_enrolment(struct store_enrolment *e, const char *ref)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->reference, sizeof(e->reference), "%s", ref);
	for (int i = 0; i < 32; i++)
		e->code_mac[i] = (uint8_t)(i * 7 + 1);
	strcpy(e->subject, "device-0042");
	strcpy(e->profile, "device");
	strcpy(e->email, "ops@example.org");
	strcpy(e->dns_names[0], "a.example.org");
	strcpy(e->dns_names[1], "b.example.org");
	e->state = ENROL_USED;
	e->failures = 3;
	e->created_at = 1700000000;
	e->expires_at = 1701296000;
	strcpy(e->credential_id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
}

static void make_cert(struct store_cert *c, const char *serial, const char *cred, int64_t nb)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->credential_id, sizeof(c->credential_id), "%s", cred);
	c->status = CERT_VALID;
	c->reason = -1;
	c->not_before = nb;
	c->not_after = nb + 86400 * 365;
	c->der_len = 300;
	for (size_t i = 0; i < c->der_len; i++)
		c->der[i] = (uint8_t)(i ^ 0x5a);
}

static void make_cred(struct store_credential *c, const char *id, const char *acct, int64_t at)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->account_id, sizeof(c->account_id), "%s", acct);
	strcpy(c->subject, "alice");
	strcpy(c->profile, "workstation");
	strcpy(c->reference, "123456789012");
	c->status = CRED_SUSPENDED;
	strcpy(c->current_serial, "5f1c0a93d2e47b16ac");
	c->created_at = at;
}

static void make_account(struct store_account *a, const char *id, const char *thumb)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->thumbprint, sizeof(a->thumbprint), "%s", thumb);
	strcpy(a->jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"abc\",\"y\":\"def\"}");
	a->status = ACCOUNT_DEACTIVATED;
	a->role = ROLE_ADMIN;
	a->created_at = -5; /* any int64 survives */
}

/* ---- write functions ---- */

struct put_ctx {
	const void *rec;
	int insert_only;
};

static int put_enrolment(store_txn *t, void *ctx)
{
	return store_enrolment_put(t, ((struct put_ctx *)ctx)->rec);
}

static int put_account(store_txn *t, void *ctx)
{
	return store_account_put(t, ((struct put_ctx *)ctx)->rec);
}

static int put_cred(store_txn *t, void *ctx)
{
	return store_credential_put(t, ((struct put_ctx *)ctx)->rec);
}

static int put_cert(store_txn *t, void *ctx)
{
	struct put_ctx *p = ctx;
	return store_cert_put(t, p->rec, p->insert_only);
}

static int put(store *st, int (*fn)(store_txn *, void *), const void *rec, int insert_only)
{
	struct put_ctx p = {rec, insert_only};
	return store_write(st, fn, &p);
}

struct get_ctx {
	const char *key;
	void *out;
};

static int get_enrolment(store_txn *t, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_enrolment_get(t, g->key, g->out);
}

static int get_account(store_txn *t, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_account_get(t, g->key, g->out);
}

static int get_account_thumb(store_txn *t, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_account_by_thumbprint(t, g->key, g->out);
}

static int get_cred(store_txn *t, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_credential_get(t, g->key, g->out);
}

static int get_cert(store_txn *t, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_cert_get(t, g->key, g->out);
}

static int get(store *st, int (*fn)(store_txn *, void *), const char *key, void *out)
{
	struct get_ctx g = {key, out};
	return store_read(st, fn, &g);
}

/* ---- walks ---- */

struct walk_ctx {
	char keys[16][STORE_SERIAL_LEN];
	int n;
	int stop_after; /* 0: never */
};

static int note(struct walk_ctx *w, const char *key)
{
	if (w->n < 16)
		snprintf(w->keys[w->n], sizeof(w->keys[0]), "%s", key);
	w->n++;
	return w->stop_after && w->n == w->stop_after ? 77 : 0;
}

static int note_cert(const struct store_cert *c, void *ctx)
{
	return note(ctx, c->serial);
}

static int note_cred(const struct store_credential *c, void *ctx)
{
	return note(ctx, c->id);
}

static int note_enrolment(const struct store_enrolment *e, void *ctx)
{
	return note(ctx, e->reference);
}

struct list_ctx {
	const char *owner;
	struct walk_ctx *w;
};

static int list_certs_of(store_txn *t, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_cert_list_by_credential(t, l->owner, note_cert, l->w);
}

static int list_creds_of(store_txn *t, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_credential_list_by_account(t, l->owner, note_cred, l->w);
}

static int list_revoked(store_txn *t, void *ctx)
{
	return store_cert_list_revoked(t, note_cert, ((struct list_ctx *)ctx)->w);
}

static int list_enrolments(store_txn *t, void *ctx)
{
	return store_enrolment_list(t, note_enrolment, ((struct list_ctx *)ctx)->w);
}

static int list_creds(store_txn *t, void *ctx)
{
	return store_credential_list(t, note_cred, ((struct list_ctx *)ctx)->w);
}

static int list_enrolments_after(store_txn *t, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_enrolment_list_after(t, l->owner, note_enrolment, l->w);
}

static int run_list(store *st, int (*fn)(store_txn *, void *), const char *owner,
		    struct walk_ctx *w)
{
	struct list_ctx l = {owner, w};
	return store_read(st, fn, &l);
}

/* ---- tests ---- */

static void test_enrolment_roundtrip_keeps_every_field(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_enrolment e, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_enrolment(&e, "123456789012");
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), 0);
	CHECK_EQ_INT(get(st, get_enrolment, "123456789012", &got), 0);
	CHECK(memcmp(&e, &got, sizeof(e)) == 0);
	/* replace */
	e.state = ENROL_LOCKED;
	memset(e.dns_names[1], 0, sizeof(e.dns_names[1])); /* "" ends the list */
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), 0);
	CHECK_EQ_INT(get(st, get_enrolment, "123456789012", &got), 0);
	CHECK(memcmp(&e, &got, sizeof(e)) == 0);
	cleanup(st);
}

static void test_account_roundtrip_and_lookup_by_thumbprint(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_account a, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_account(&a, "acct-thumb-1", "acct-thumb-1");
	CHECK_EQ_INT(put(st, put_account, &a, 0), 0);
	CHECK_EQ_INT(get(st, get_account, "acct-thumb-1", &got), 0);
	CHECK(memcmp(&a, &got, sizeof(a)) == 0);
	memset(&got, 0, sizeof(got));
	CHECK_EQ_INT(get(st, get_account_thumb, "acct-thumb-1", &got), 0);
	CHECK(memcmp(&a, &got, sizeof(a)) == 0);
	cleanup(st);
}

static void test_credential_roundtrip_keeps_every_field(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_credential c, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_cred(&c, "01HZX3K8Q0C4V9T7R2M5N6P1AB", "acct-1", 1700000000);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	CHECK_EQ_INT(get(st, get_cred, c.id, &got), 0);
	CHECK(memcmp(&c, &got, sizeof(c)) == 0);
	cleanup(st);
}

static void test_cert_roundtrip_with_largest_der(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct store_cert c, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_cert(&c, "5f1c0a93d2e47b16ac", "cred-1", 1700000000);
	c.der_len = STORE_DER_MAX;
	for (size_t i = 0; i < c.der_len; i++)
		c.der[i] = (uint8_t)(i * 31);
	c.status = CERT_REVOKED;
	c.reason = 0; /* unspecified: must not turn into -1 */
	c.revoked_at = 1700000500;
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	CHECK_EQ_INT(get(st, get_cert, c.serial, &got), 0);
	CHECK(memcmp(&c, &got, sizeof(c)) == 0);
	cleanup(st);
}

static void test_missing_records_are_notfound_and_out_untouched(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_account a;
	struct store_cert c;

	CHECK(st != NULL);
	if (!st)
		return;
	memset(&a, 0xab, sizeof(a));
	CHECK_EQ_INT(get(st, get_account, "nobody", &a), CF_ENOTFOUND);
	CHECK_EQ_INT(get(st, get_account_thumb, "nobody", &a), CF_ENOTFOUND);
	CHECK_EQ_INT(get(st, get_account, "", &a), CF_ENOTFOUND);
	CHECK_EQ_INT((unsigned char)a.id[0], 0xab);
	CHECK_EQ_INT(get(st, get_cert, "00", &c), CF_ENOTFOUND);
	cleanup(st);
}

static void test_thumbprint_held_by_another_account_conflicts(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_account a, b, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_account(&a, "acct-a", "thumb-x");
	make_account(&b, "acct-b", "thumb-x");
	CHECK_EQ_INT(put(st, put_account, &a, 0), 0);
	CHECK_EQ_INT(put(st, put_account, &b, 0), CF_ECONFLICT);
	CHECK_EQ_INT(get(st, get_account, "acct-b", &got), CF_ENOTFOUND);
	/* replacing one's own record with the same thumbprint is fine */
	a.status = ACCOUNT_VALID;
	CHECK_EQ_INT(put(st, put_account, &a, 0), 0);
	cleanup(st);
}

static void test_account_key_change_frees_old_thumbprint(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_account a, b, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_account(&a, "acct-a", "thumb-old");
	CHECK_EQ_INT(put(st, put_account, &a, 0), 0);
	strcpy(a.thumbprint, "thumb-new");
	CHECK_EQ_INT(put(st, put_account, &a, 0), 0);
	CHECK_EQ_INT(get(st, get_account_thumb, "thumb-old", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(get(st, get_account_thumb, "thumb-new", &got), 0);
	CHECK_EQ_STR(got.id, "acct-a");
	make_account(&b, "acct-b", "thumb-old");
	CHECK_EQ_INT(put(st, put_account, &b, 0), 0);
	cleanup(st);
}

static void test_cert_insert_only_conflicts_on_existing_serial(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct store_cert c, got;

	CHECK(st != NULL);
	if (!st)
		return;
	make_cert(&c, "0a0b", "cred-1", 100);
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	c.not_after = 5;
	CHECK_EQ_INT(put(st, put_cert, &c, 1), CF_ECONFLICT);
	CHECK_EQ_INT(get(st, get_cert, "0a0b", &got), 0);
	CHECK(got.not_after != 5);
	CHECK_EQ_INT(put(st, put_cert, &c, 0), 0); /* replace is allowed */
	CHECK_EQ_INT(get(st, get_cert, "0a0b", &got), 0);
	CHECK_EQ_INT(got.not_after, 5);
	cleanup(st);
}

static void test_cert_list_by_credential_is_oldest_first(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct store_cert c;
	struct walk_ctx w = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	/* inserted out of order; "cred1" must not see "cred10"'s certificates */
	make_cert(&c, "03", "cred1", 300);
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	make_cert(&c, "01", "cred1", -100);
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	make_cert(&c, "02", "cred1", 200);
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	make_cert(&c, "ff", "cred10", 0);
	CHECK_EQ_INT(put(st, put_cert, &c, 1), 0);
	CHECK_EQ_INT(run_list(st, list_certs_of, "cred1", &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "01");
	CHECK_EQ_STR(w.keys[1], "02");
	CHECK_EQ_STR(w.keys[2], "03");
	/* moving a certificate in time moves it in the list */
	make_cert(&c, "01", "cred1", 400);
	CHECK_EQ_INT(put(st, put_cert, &c, 0), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_certs_of, "cred1", &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[2], "01");
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_certs_of, "nothing", &w), 0);
	CHECK_EQ_INT(w.n, 0);
	/* a callback's non-zero value stops the walk and is returned */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	CHECK_EQ_INT(run_list(st, list_certs_of, "cred1", &w), 77);
	CHECK_EQ_INT(w.n, 2);
	cleanup(st);
}

static void test_credential_list_by_account_in_creation_order(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_credential c;
	struct walk_ctx w = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	make_cred(&c, "c-late", "acct", 3000);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	make_cred(&c, "c-early", "acct", 1000);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	make_cred(&c, "c-mid", "acct", 2000);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	make_cred(&c, "c-other", "acct2", 1500);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	CHECK_EQ_INT(run_list(st, list_creds_of, "acct", &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "c-early");
	CHECK_EQ_STR(w.keys[1], "c-mid");
	CHECK_EQ_STR(w.keys[2], "c-late");
	/* a credential moved to another account leaves the first list */
	make_cred(&c, "c-mid", "acct2", 2000);
	CHECK_EQ_INT(put(st, put_cred, &c, 0), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_creds_of, "acct", &w), 0);
	CHECK_EQ_INT(w.n, 2);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_creds_of, "acct2", &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], "c-other");
	CHECK_EQ_STR(w.keys[1], "c-mid");
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_creds, NULL, &w), 0);
	CHECK_EQ_INT(w.n, 4);
	cleanup(st);
}

static void test_revoked_index_follows_status_changes(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct store_cert a, b;
	struct walk_ctx w = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	make_cert(&a, "aa", "cred", 1);
	make_cert(&b, "bb", "cred", 2);
	CHECK_EQ_INT(put(st, put_cert, &a, 1), 0);
	CHECK_EQ_INT(put(st, put_cert, &b, 1), 0);
	CHECK_EQ_INT(run_list(st, list_revoked, NULL, &w), 0);
	CHECK_EQ_INT(w.n, 0);

	a.status = CERT_REVOKED;
	a.reason = 1;
	b.status = CERT_SUSPENDED;
	b.reason = 6;
	CHECK_EQ_INT(put(st, put_cert, &a, 0), 0);
	CHECK_EQ_INT(put(st, put_cert, &b, 0), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_revoked, NULL, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], "aa");
	CHECK_EQ_STR(w.keys[1], "bb");

	/* reinstated */
	b.status = CERT_VALID;
	b.reason = -1;
	CHECK_EQ_INT(put(st, put_cert, &b, 0), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_revoked, NULL, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	CHECK_EQ_STR(w.keys[0], "aa");
	cleanup(st);
}

static void test_enrolment_list_walks_all(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_enrolment e;
	struct walk_ctx w = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	make_enrolment(&e, "000000000002");
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), 0);
	make_enrolment(&e, "000000000001");
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), 0);
	CHECK_EQ_INT(run_list(st, list_enrolments, NULL, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], "000000000001");
	cleanup(st);
}

static void test_enrolment_list_after_starts_strictly_after_the_cursor(void)
{
	static const char *const refs[] = {"000000000001", "000000000002", "000000000010",
					   "000000000011", "000000000100"};
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_enrolment e;
	struct walk_ctx w = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	for (size_t i = 0; i < 5; i++) {
		make_enrolment(&e, refs[4 - i]);
		CHECK_EQ_INT(put(st, put_enrolment, &e, 0), 0);
	}
	/* a key that exists: the walk starts with the next one */
	CHECK_EQ_INT(run_list(st, list_enrolments_after, "000000000002", &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "000000000010");
	CHECK_EQ_STR(w.keys[2], "000000000100");
	/* a prefix of keys and a key that does not exist: the first key above it */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_enrolments_after, "00000000001", &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "000000000010");
	/* NULL and "": from the first; past the last: nothing; a page stops when told */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_enrolments_after, "", &w), 0);
	CHECK_EQ_INT(w.n, 5);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(run_list(st, list_enrolments_after, "000000000100", &w), 0);
	CHECK_EQ_INT(w.n, 0);
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	CHECK(run_list(st, list_enrolments_after, NULL, &w) != 0);
	CHECK_EQ_INT(w.n, 2);
	cleanup(st);
}

struct counter_ctx {
	const char *name;
	uint64_t v;
};

static int next_counter(store_txn *t, void *ctx)
{
	struct counter_ctx *c = ctx;
	return store_counter_next(t, c->name, &c->v);
}

static void test_counter_next_counts_from_one(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct counter_ctx a = {"crl_number", 0}, b = {"other", 0};

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_write(st, next_counter, &a), 0);
	CHECK_EQ_INT(a.v, 1);
	CHECK_EQ_INT(store_write(st, next_counter, &a), 0);
	CHECK_EQ_INT(a.v, 2);
	CHECK_EQ_INT(store_write(st, next_counter, &b), 0);
	CHECK_EQ_INT(b.v, 1);
	cleanup(st);
}

static int get_revocations(store_txn *t, void *ctx)
{
	return store_counter_get(t, STORE_COUNTER_REVOCATIONS, ctx);
}

static uint64_t revocations(store *st)
{
	uint64_t v = 99;

	CHECK_EQ_INT(store_read(st, get_revocations, &v), 0);
	return v;
}

static void test_revocations_counter_moves_with_every_change_of_the_revoked_set(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	static struct store_cert a;
	uint64_t v;

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(revocations(st), 0);
	make_cert(&a, "aa", "cred", 1);
	CHECK_EQ_INT(put(st, put_cert, &a, 1), 0);
	CHECK_EQ_INT(revocations(st), 0); /* a valid certificate: the CRL stays as it is */
	a.status = CERT_SUSPENDED;
	a.reason = 6;
	CHECK_EQ_INT(put(st, put_cert, &a, 0), 0);
	CHECK((v = revocations(st)) > 0);
	a.status = CERT_REVOKED; /* suspended, then revoked: another entry on the CRL */
	a.reason = 1;
	CHECK_EQ_INT(put(st, put_cert, &a, 0), 0);
	CHECK(revocations(st) > v);
	v = revocations(st);
	a.status = CERT_VALID;
	a.reason = -1;
	CHECK_EQ_INT(put(st, put_cert, &a, 0), 0);
	CHECK(revocations(st) > v);
	v = revocations(st);
	CHECK_EQ_INT(put(st, put_cert, &a, 0), 0);
	CHECK_EQ_INT(revocations(st), v);
	cleanup(st);
}

static void test_put_rejects_empty_or_unterminated_fields(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_enrolment e;
	static struct store_cert c;
	struct store_account a;

	CHECK(st != NULL);
	if (!st)
		return;
	make_enrolment(&e, "");
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), CF_EMALFORMED);
	make_enrolment(&e, "1");
	memset(e.subject, 'x', sizeof(e.subject));
	CHECK_EQ_INT(put(st, put_enrolment, &e, 0), CF_EMALFORMED);
	make_cert(&c, "01", "cred", 0);
	c.der_len = STORE_DER_MAX + 1;
	CHECK_EQ_INT(put(st, put_cert, &c, 1), CF_EMALFORMED);
	make_account(&a, "acct", "");
	CHECK_EQ_INT(put(st, put_account, &a, 0), CF_EMALFORMED);
	cleanup(st);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	RUN(test_enrolment_roundtrip_keeps_every_field);
	RUN(test_account_roundtrip_and_lookup_by_thumbprint);
	RUN(test_credential_roundtrip_keeps_every_field);
	RUN(test_cert_roundtrip_with_largest_der);
	RUN(test_missing_records_are_notfound_and_out_untouched);
	RUN(test_thumbprint_held_by_another_account_conflicts);
	RUN(test_account_key_change_frees_old_thumbprint);
	RUN(test_cert_insert_only_conflicts_on_existing_serial);
	RUN(test_cert_list_by_credential_is_oldest_first);
	RUN(test_credential_list_by_account_in_creation_order);
	RUN(test_revoked_index_follows_status_changes);
	RUN(test_enrolment_list_walks_all);
	RUN(test_enrolment_list_after_starts_strictly_after_the_cursor);
	RUN(test_counter_next_counts_from_one);
	RUN(test_revocations_counter_moves_with_every_change_of_the_revoked_set);
	RUN(test_put_rejects_empty_or_unterminated_fields);
	return check_done();
}
