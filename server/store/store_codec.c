/*
 * store_codec — table-driven binary encoding of the store records (see store_codec.h for the
 * format). Each record type is a table of fields; adding a field is one row with a new tag.
 * Must never read or write outside the buffers it is given, whatever the input bytes.
 */
#include "store_codec.h"

#include "cf_err.h"
#include "store.h"

#include <limits.h>
#include <string.h>

enum field_kind {
	F_STR,	 /* char[cap], NUL-terminated */
	F_STRS,	 /* char[count][cap]; one field per non-empty element, "" ends the list */
	F_BYTES, /* uint8_t[cap], exactly cap octets */
	F_INT,	 /* int */
	F_I64,	 /* int64_t */
	F_BLOB,	 /* uint8_t[cap] with its size_t length at len_off */
	F_U32,	 /* uint32_t, a plain varint */
	F_U64,	 /* uint64_t, a plain varint; may be the key (messages, audit events) */
};

struct codec_field {
	uint32_t tag;
	uint8_t kind;
	uint8_t required;
	uint16_t count;
	size_t off, cap, len_off;
};

struct codec_desc {
	uint8_t type;
	size_t rec_size;
	size_t key_off; /* the key, an F_STR (or F_U64 if key_u64) field marked required */
	int key_u64;
	void (*init)(void *rec);
	const struct codec_field *fields;
	size_t nfields;
};

#define FSTR(tag, T, m, req)                                                                       \
	{                                                                                          \
		tag, F_STR, req, 1, offsetof(T, m), sizeof(((T *)0)->m), 0                         \
	}
#define FINT(tag, T, m)                                                                            \
	{                                                                                          \
		tag, F_INT, 0, 1, offsetof(T, m), sizeof(int), 0                                   \
	}
#define FI64(tag, T, m)                                                                            \
	{                                                                                          \
		tag, F_I64, 0, 1, offsetof(T, m), sizeof(int64_t), 0                               \
	}
#define FU32(tag, T, m)                                                                            \
	{                                                                                          \
		tag, F_U32, 0, 1, offsetof(T, m), sizeof(uint32_t), 0                              \
	}
#define FBYTES(tag, T, m)                                                                          \
	{                                                                                          \
		tag, F_BYTES, 0, 1, offsetof(T, m), sizeof(((T *)0)->m), 0                         \
	}
#define FBLOB(tag, T, m, len)                                                                      \
	{                                                                                          \
		tag, F_BLOB, 0, 1, offsetof(T, m), sizeof(((T *)0)->m), offsetof(T, len)           \
	}
/* The six fields of an embedded struct store_questions, tags t .. t+5. */
#define FQUESTIONS(t, T)                                                                           \
	FSTR(t, T, questions.text[0], 0), FSTR(t + 1, T, questions.text[1], 0),                    \
	    FSTR(t + 2, T, questions.text[2], 0), FBYTES(t + 3, T, questions.verifier),            \
	    FBYTES(t + 4, T, questions.salt), FU32(t + 5, T, questions.iterations)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Record types (second octet); never renumber. */
enum {
	REC_ENROLMENT = 1,
	REC_ACCOUNT = 2,
	REC_CREDENTIAL = 3,
	REC_CERT = 4,
	REC_SUBJECT = 5,
	REC_APPLICATION = 6,
	REC_CHALLENGE = 7,
	REC_MESSAGE = 8,
	REC_AUDIT = 9,
	REC_CUSTODY = 10,
	REC_LOGIN = 11,
	REC_SESSION = 12,
	REC_COUPON = 13,
};

/* Tags: never reuse a number for another meaning. */
static const struct codec_field enrolment_fields[] = {
    FSTR(1, struct store_enrolment, reference, 1),
    FBYTES(2, struct store_enrolment, code_mac),
    FSTR(3, struct store_enrolment, subject, 0),
    FSTR(4, struct store_enrolment, profile, 0),
    FSTR(5, struct store_enrolment, email, 0),
    {6, F_STRS, 0, 4, offsetof(struct store_enrolment, dns_names), STORE_NAME_LEN, 0},
    FINT(7, struct store_enrolment, state),
    FINT(8, struct store_enrolment, failures),
    FI64(9, struct store_enrolment, created_at),
    FI64(10, struct store_enrolment, expires_at),
    FSTR(11, struct store_enrolment, credential_id, 0),
    FSTR(12, struct store_enrolment, application_id, 0),
    FSTR(13, struct store_enrolment, replaces, 0),
    FU32(14, struct store_enrolment, envelope_number),
    FBLOB(15, struct store_enrolment, eab_key, eab_key_len),
    FINT(16, struct store_enrolment, acme_validate),
};

static const struct codec_field account_fields[] = {
    FSTR(1, struct store_account, id, 1),      FSTR(2, struct store_account, thumbprint, 1),
    FSTR(3, struct store_account, jwk, 0),     FINT(4, struct store_account, status),
    FINT(5, struct store_account, role),       FI64(6, struct store_account, created_at),
    FSTR(7, struct store_account, name, 0),    /* issue 10: "" in older records */
    FSTR(8, struct store_account, contact, 0), /* ACME contacts: "" in older records */
};

static const struct codec_field credential_fields[] = {
    FSTR(1, struct store_credential, id, 1),
    FSTR(2, struct store_credential, account_id, 0),
    FSTR(3, struct store_credential, subject, 0),
    FSTR(4, struct store_credential, profile, 0),
    FSTR(5, struct store_credential, reference, 0),
    FINT(6, struct store_credential, status),
    FSTR(7, struct store_credential, current_serial, 0),
    FI64(8, struct store_credential, created_at),
    FSTR(9, struct store_credential, application_id, 0),
    FSTR(10, struct store_credential, subject_id, 0),
    FINT(11, struct store_credential, remote), /* 11 .. 13: issue 4 (schema 4) */
    FI64(12, struct store_credential, update_by),
    FSTR(13, struct store_credential, update_note, 0),
};

static const struct codec_field cert_fields[] = {
    FSTR(1, struct store_cert, serial, 1),
    FSTR(2, struct store_cert, credential_id, 0),
    FINT(3, struct store_cert, status),
    FINT(4, struct store_cert, reason),
    FI64(5, struct store_cert, not_before),
    FI64(6, struct store_cert, not_after),
    FI64(7, struct store_cert, revoked_at),
    FBLOB(8, struct store_cert, der, der_len), /* up to STORE_DER_MAX octets */
};

static const struct codec_field subject_fields[] = {
    FSTR(1, struct store_subject, id, 1),
    FSTR(2, struct store_subject, given_name, 0),
    FSTR(3, struct store_subject, surname, 0),
    FSTR(4, struct store_subject, unique_id, 0),
    FSTR(5, struct store_subject, email, 0),
    FSTR(6, struct store_subject, alt_email, 0),
    FSTR(7, struct store_subject, mobile, 0),
    FINT(8, struct store_subject, state),
    FQUESTIONS(9, struct store_subject), /* 9 .. 14 */
    FINT(15, struct store_subject, question_attempts),
    FBLOB(16, struct store_subject, totp_seed, totp_seed_len),
    FINT(17, struct store_subject, totp_confirmed),
    FI64(18, struct store_subject, totp_last_step),
    FINT(19, struct store_subject, otp_failures),
    FI64(20, struct store_subject, created_at),
};

static const struct codec_field application_fields[] = {
    FSTR(1, struct store_application, id, 1),
    FSTR(2, struct store_application, subject_id, 0),
    FSTR(3, struct store_application, profile, 0),
    FINT(4, struct store_application, state),
    FSTR(5, struct store_application, consents, 0),
    FQUESTIONS(6, struct store_application), /* 6 .. 11 */
    FINT(12, struct store_application, needs_review),
    FBLOB(13, struct store_application, envelope_key, envelope_key_len),
    FBYTES(14, struct store_application, envelope_salt),
    FU32(15, struct store_application, envelope_iterations),
    FU32(16, struct store_application, envelope_count),
    FBYTES(17, struct store_application, emergency_mac),
    FINT(18, struct store_application, emergency_failures),
    FSTR(19, struct store_application, reference, 0),
    FSTR(20, struct store_application, credential_id, 0),
    FSTR(21, struct store_application, decided_by, 0),
    FSTR(22, struct store_application, reason, 0),
    FI64(23, struct store_application, created_at),
    FI64(24, struct store_application, decided_at),
};

static const struct codec_field challenge_fields[] = {
    FSTR(1, struct store_challenge, id, 1),
    FINT(2, struct store_challenge, kind),
    FINT(3, struct store_challenge, state),
    FSTR(4, struct store_challenge, subject_id, 0),
    FSTR(5, struct store_challenge, purpose, 0),
    FSTR(6, struct store_challenge, parent, 0),
    FBYTES(7, struct store_challenge, mac),
    FINT(8, struct store_challenge, failures),
    FI64(9, struct store_challenge, created_at),
    FI64(10, struct store_challenge, expires_at), /* indexed for the purge */
};

static const struct codec_field message_fields[] = {
    {1, F_U64, 1, 1, offsetof(struct store_message, id), sizeof(uint64_t), 0},
    FINT(2, struct store_message, channel),
    FINT(3, struct store_message, state),
    FSTR(4, struct store_message, to, 0),
    FSTR(5, struct store_message, template_name, 0),
    FBLOB(6, struct store_message, body, body_len),
    FINT(7, struct store_message, attempts),
    FI64(8, struct store_message, created_at),
    FI64(9, struct store_message, next_attempt_at),
    FI64(10, struct store_message, sent_at),
    FSTR(11, struct store_message, last_error, 0),
    FSTR(12, struct store_message, claimed_by, 0), /* issue 14: "" in older records */
};

static const struct codec_field audit_fields[] = {
    {1, F_U64, 1, 1, offsetof(struct store_audit, seq), sizeof(uint64_t), 0},
    FI64(2, struct store_audit, at),
    FSTR(3, struct store_audit, actor, 0),
    FSTR(4, struct store_audit, action, 0),
    FSTR(5, struct store_audit, object, 0),
    FSTR(6, struct store_audit, remote, 0),
    FSTR(7, struct store_audit, result, 0),
    FSTR(8, struct store_audit, detail, 0),
    FSTR(9, struct store_audit, actor_name, 0), /* issue 10: "" in older events */
};

static const struct codec_field custody_fields[] = {
    FSTR(1, struct store_custody, credential_id, 1),
    FINT(2, struct store_custody, key_type),
    FU32(3, struct store_custody, key_bits),
    FBLOB(4, struct store_custody, sealed_key, sealed_key_len),
    FBYTES(5, struct store_custody, pin_wrap),
    FBYTES(6, struct store_custody, pin_salt),
    FU32(7, struct store_custody, pin_iterations),
    FBYTES(8, struct store_custody, puk_wrap),
    FBYTES(9, struct store_custody, puk_salt),
    FU32(10, struct store_custody, puk_iterations),
    FINT(11, struct store_custody, pin_tries_left),
    FINT(12, struct store_custody, puk_tries_left),
    FINT(13, struct store_custody, state),
    FI64(14, struct store_custody, created_at),
    FI64(15, struct store_custody, updated_at),
};

static const struct codec_field login_fields[] = {
    FSTR(1, struct store_login, user_id, 1), FSTR(2, struct store_login, subject_id, 0),
    FBYTES(3, struct store_login, verifier), FBYTES(4, struct store_login, salt),
    FU32(5, struct store_login, iterations), FINT(6, struct store_login, must_change),
    FINT(7, struct store_login, failures),   FI64(8, struct store_login, created_at),
    FI64(9, struct store_login, changed_at), FI64(10, struct store_login, last_login_at),
};

static const struct codec_field session_fields[] = {
    FSTR(1, struct store_session, id, 1),
    FINT(2, struct store_session, kind),
    FINT(3, struct store_session, state),
    FSTR(4, struct store_session, subject_id, 0),
    FSTR(5, struct store_session, user_id, 0),
    FSTR(6, struct store_session, credential_id, 0),
    FSTR(7, struct store_session, parent, 0),
    FINT(8, struct store_session, restricted),
    FBYTES(9, struct store_session, digest),
    FU32(10, struct store_session, count),
    FBLOB(11, struct store_session, blob, blob_len),
    FSTR(12, struct store_session, detail, 0),
    FI64(13, struct store_session, created_at),
    FI64(14, struct store_session, expires_at), /* indexed for the purge */
};

static const struct codec_field coupon_fields[] = {
    FSTR(1, struct store_coupon, id, 1),
    FBYTES(2, struct store_coupon, code_mac), /* indexed, unique */
    FSTR(3, struct store_coupon, profile, 0),
    FINT(4, struct store_coupon, state),
    FSTR(5, struct store_coupon, note, 0),
    FSTR(6, struct store_coupon, used_by, 0),
    FI64(7, struct store_coupon, created_at),
    FI64(8, struct store_coupon, expires_at),
    FI64(9, struct store_coupon, used_at),
};

static void cert_init(void *rec)
{
	((struct store_cert *)rec)->reason = -1;
}

#define DESC(t, T, key, initfn, tbl)                                                               \
	{                                                                                          \
		t, sizeof(T), offsetof(T, key), 0, initfn, tbl, ARRAY_LEN(tbl)                     \
	}
#define DESC_U64(t, T, key, tbl)                                                                   \
	{                                                                                          \
		t, sizeof(T), offsetof(T, key), 1, NULL, tbl, ARRAY_LEN(tbl)                       \
	}

const struct codec_desc codec_enrolment =
    DESC(REC_ENROLMENT, struct store_enrolment, reference, NULL, enrolment_fields);
const struct codec_desc codec_account =
    DESC(REC_ACCOUNT, struct store_account, id, NULL, account_fields);
const struct codec_desc codec_credential =
    DESC(REC_CREDENTIAL, struct store_credential, id, NULL, credential_fields);
const struct codec_desc codec_cert =
    DESC(REC_CERT, struct store_cert, serial, cert_init, cert_fields);
const struct codec_desc codec_subject =
    DESC(REC_SUBJECT, struct store_subject, id, NULL, subject_fields);
const struct codec_desc codec_application =
    DESC(REC_APPLICATION, struct store_application, id, NULL, application_fields);
const struct codec_desc codec_challenge =
    DESC(REC_CHALLENGE, struct store_challenge, id, NULL, challenge_fields);
const struct codec_desc codec_message =
    DESC_U64(REC_MESSAGE, struct store_message, id, message_fields);
const struct codec_desc codec_audit = DESC_U64(REC_AUDIT, struct store_audit, seq, audit_fields);
const struct codec_desc codec_custody =
    DESC(REC_CUSTODY, struct store_custody, credential_id, NULL, custody_fields);
const struct codec_desc codec_login =
    DESC(REC_LOGIN, struct store_login, user_id, NULL, login_fields);
const struct codec_desc codec_session =
    DESC(REC_SESSION, struct store_session, id, NULL, session_fields);
const struct codec_desc codec_coupon =
    DESC(REC_COUPON, struct store_coupon, id, NULL, coupon_fields);

void codec_u64_be(uint64_t v, uint8_t out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t codec_be_u64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void codec_ikey(struct codec_ikey *k, const char *owner, int64_t order, const void *suffix,
		size_t slen)
{
	size_t p = owner ? strnlen(owner, 63) + 1 : 0;

	if (slen > 63)
		slen = 63; /* never: see store_codec.h */
	if (p) {
		memcpy(k->b, owner, p - 1);
		k->b[p - 1] = '\0';
	}
	codec_u64_be((uint64_t)order ^ ((uint64_t)1 << 63), k->b + p);
	memcpy(k->b + p + 8, suffix, slen);
	k->len = p + 8 + slen;
}

int64_t codec_ikey_order(const uint8_t b[8])
{
	return (int64_t)(codec_be_u64(b) ^ ((uint64_t)1 << 63));
}

const void *codec_key(const struct codec_desc *d, const void *rec, uint8_t buf[8], size_t *len)
{
	const char *key = (const char *)rec + d->key_off;
	uint64_t v;

	if (d->key_u64) {
		memcpy(&v, key, sizeof(v));
		codec_u64_be(v, buf);
		*len = 8;
		return buf;
	}
	*len = strlen(key);
	return key;
}

size_t codec_rec_size(const struct codec_desc *d)
{
	return d->rec_size;
}

/* ---- varints ---- */

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Read a varint from [*p, end); at most 10 octets, no bits beyond 64. */
static int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (const uint8_t *q = *p; q < end && shift < 64; q++, shift += 7) {
		uint64_t b = *q & 0x7f;
		if (shift == 63 && b > 1)
			return CF_EINTERNAL;
		v |= b << shift;
		if (!(*q & 0x80)) {
			*p = q + 1;
			*out = v;
			return 0;
		}
	}
	return CF_EINTERNAL;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- integers ---- */

/* The varint value of integer field f at base: signed ones (F_INT, F_I64) widened to int64_t and
 * zigzagged, unsigned ones as they are. */
static uint64_t num_get(const struct codec_field *f, const uint8_t *base)
{
	int64_t v;
	int v32;
	uint64_t u;
	uint32_t u32;

	switch (f->kind) {
	case F_INT:
		memcpy(&v32, base, sizeof(v32));
		return zigzag(v32);
	case F_I64:
		memcpy(&v, base, sizeof(v));
		return zigzag(v);
	case F_U32:
		memcpy(&u32, base, sizeof(u32));
		return u32;
	default:
		memcpy(&u, base, sizeof(u));
		return u;
	}
}

/* Store varint value u into integer field f at base; CF_EINTERNAL if out of the field's range. */
static int num_set(const struct codec_field *f, uint8_t *base, uint64_t u)
{
	int64_t v = unzigzag(u);
	int iv;
	uint32_t u32;

	switch (f->kind) {
	case F_INT:
		if (v < INT_MIN || v > INT_MAX)
			return CF_EINTERNAL;
		iv = (int)v;
		memcpy(base, &iv, sizeof(iv));
		return 0;
	case F_I64:
		memcpy(base, &v, sizeof(v));
		return 0;
	case F_U32:
		if (u > UINT32_MAX)
			return CF_EINTERNAL;
		u32 = (uint32_t)u;
		memcpy(base, &u32, sizeof(u32));
		return 0;
	default:
		memcpy(base, &u, sizeof(u));
		return 0;
	}
}

/* ---- one field ---- */

/* The payloads of field f of rec, one per call: *i is the element index (F_STRS). Returns 0 and
 * sets ptr/len/num (num for integers), or 1 when there is no further payload. */
struct payload {
	const uint8_t *ptr;
	size_t len;
	uint64_t num;
	int is_num;
};

static int field_payload(const struct codec_field *f, const void *rec, unsigned i,
			 struct payload *pl)
{
	const uint8_t *base = (const uint8_t *)rec + f->off;

	memset(pl, 0, sizeof(*pl));
	switch (f->kind) {
	case F_STRS:
		if (i >= f->count || base[(size_t)i * f->cap] == '\0')
			return 1;
		pl->ptr = base + (size_t)i * f->cap;
		pl->len = strnlen((const char *)pl->ptr, f->cap);
		return 0;
	case F_STR:
		if (i > 0)
			return 1;
		pl->ptr = base;
		pl->len = strnlen((const char *)base, f->cap);
		return 0;
	case F_BYTES:
		if (i > 0)
			return 1;
		pl->ptr = base;
		pl->len = f->cap;
		return 0;
	case F_BLOB:
		if (i > 0)
			return 1;
		pl->ptr = base;
		memcpy(&pl->len, (const uint8_t *)rec + f->len_off, sizeof(size_t));
		return 0;
	default: /* the integers: one varint */
		if (i > 0)
			return 1;
		pl->num = num_get(f, base);
		pl->is_num = 1;
		pl->len = varint_len(pl->num);
		return 0;
	}
}

/* A string field must hold its NUL inside the array; the key must not be empty. */
static int field_check(const struct codec_desc *d, const struct codec_field *f, const void *rec)
{
	const uint8_t *base = (const uint8_t *)rec + f->off;
	size_t n;

	switch (f->kind) {
	case F_STR:
		n = strnlen((const char *)base, f->cap);
		if (n == f->cap || (f->off == d->key_off && n == 0))
			return CF_EMALFORMED;
		return 0;
	case F_STRS:
		for (unsigned i = 0; i < f->count; i++)
			if (strnlen((const char *)base + (size_t)i * f->cap, f->cap) == f->cap)
				return CF_EMALFORMED;
		return 0;
	case F_BLOB:
		memcpy(&n, (const uint8_t *)rec + f->len_off, sizeof(n));
		return n <= f->cap ? 0 : CF_EMALFORMED;
	case F_U64:
		/* a numbered key is never 0 */
		return f->off == d->key_off && num_get(f, base) == 0 ? CF_EMALFORMED : 0;
	default:
		return 0;
	}
}

/* Count the fields rec encodes to and their total size (after the header). */
static int measure(const struct codec_desc *d, const void *rec, size_t *count, size_t *size)
{
	struct payload pl;
	size_t c = 0, total = 0;
	int ret;

	for (size_t k = 0; k < d->nfields; k++) {
		const struct codec_field *f = &d->fields[k];
		if ((ret = field_check(d, f, rec)) != 0)
			return ret;
		for (unsigned i = 0; field_payload(f, rec, i, &pl) == 0; i++, c++)
			total += varint_len(f->tag) + varint_len(pl.len) + pl.len;
	}
	*count = c;
	*size = total;
	return 0;
}

int codec_size(const struct codec_desc *d, const void *rec, size_t *out)
{
	size_t count, size;
	int ret;

	if ((ret = measure(d, rec, &count, &size)) != 0)
		return ret;
	*out = 2 + varint_len(count) + size;
	return 0;
}

int codec_encode(const struct codec_desc *d, const void *rec, uint8_t *buf, size_t len)
{
	uint8_t *p = buf, *end = buf + len;
	struct payload pl;
	size_t count, size;

	if (measure(d, rec, &count, &size) != 0 || len != 2 + varint_len(count) + size)
		return CF_EINTERNAL;
	*p++ = CODEC_VERSION;
	*p++ = d->type;
	p = varint_put(p, count);
	for (size_t k = 0; k < d->nfields; k++) {
		const struct codec_field *f = &d->fields[k];
		for (unsigned i = 0; field_payload(f, rec, i, &pl) == 0; i++) {
			p = varint_put(p, f->tag);
			p = varint_put(p, pl.len);
			if (pl.is_num) {
				p = varint_put(p, pl.num);
			} else {
				if (pl.len)
					memcpy(p, pl.ptr, pl.len);
				p += pl.len;
			}
		}
	}
	return p == end ? 0 : CF_EINTERNAL;
}

static const struct codec_field *field_find(const struct codec_desc *d, uint64_t tag, size_t *idx)
{
	for (size_t k = 0; k < d->nfields; k++) {
		if (d->fields[k].tag == tag) {
			*idx = k;
			return &d->fields[k];
		}
	}
	return NULL;
}

/* Store one payload of field f into rec; seen[] counts the occurrences of each field. */
static int field_set(const struct codec_field *f, void *rec, const uint8_t *p, size_t len,
		     unsigned seen)
{
	uint8_t *base = (uint8_t *)rec + f->off;
	const uint8_t *q = p;
	uint64_t u;

	if (f->kind != F_STRS && seen > 0)
		return CF_EINTERNAL; /* a duplicate field */
	switch (f->kind) {
	case F_STR:
	case F_STRS:
		if (seen >= f->count || len >= f->cap || memchr(p, '\0', len))
			return CF_EINTERNAL;
		if (f->kind == F_STRS && len == 0)
			return CF_EINTERNAL; /* "" would end the list early */
		base += (size_t)seen * f->cap;
		memcpy(base, p, len);
		base[len] = '\0';
		return 0;
	case F_BYTES:
		if (len != f->cap)
			return CF_EINTERNAL;
		memcpy(base, p, len);
		return 0;
	case F_BLOB:
		if (len > f->cap)
			return CF_EINTERNAL;
		memcpy(base, p, len);
		memcpy((uint8_t *)rec + f->len_off, &len, sizeof(len));
		return 0;
	default: /* an integer: exactly one varint fills the payload */
		if (varint_get(&q, p + len, &u) != 0 || q != p + len)
			return CF_EINTERNAL;
		return num_set(f, base, u);
	}
}

int codec_decode(const struct codec_desc *d, const uint8_t *buf, size_t len, void *rec)
{
	const uint8_t *p = buf, *end = buf + len;
	unsigned seen[32] = {0};
	uint64_t count, nread = 0;
	int ret = CF_EINTERNAL;

	memset(rec, 0, d->rec_size);
	if (d->init)
		d->init(rec);
	if (d->nfields > ARRAY_LEN(seen) || !buf || len < 2 || p[0] != CODEC_VERSION ||
	    p[1] != d->type)
		goto out;
	p += 2;
	if (varint_get(&p, end, &count) != 0)
		goto out;
	for (; p < end; nread++) {
		uint64_t tag, flen;
		const struct codec_field *f;
		size_t idx = 0;

		if (varint_get(&p, end, &tag) != 0 || varint_get(&p, end, &flen) != 0)
			goto out;
		if (flen > (uint64_t)(end - p))
			goto out;
		f = field_find(d, tag, &idx);
		/* a field of a later version: skip it */
		if (f && (ret = field_set(f, rec, p, (size_t)flen, seen[idx]++)) != 0)
			goto out;
		ret = CF_EINTERNAL;
		p += flen;
	}
	if (nread != count) /* a value cut at a field boundary */
		goto out;
	for (size_t k = 0; k < d->nfields; k++)
		if (d->fields[k].required && !seen[k])
			goto out;
	ret = 0;
out:
	return ret;
}
