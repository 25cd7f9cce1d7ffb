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
	size_t key_off; /* the key, always an F_STR field marked required */
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
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Record types (second octet); never renumber. */
enum { REC_ENROLMENT = 1, REC_ACCOUNT = 2, REC_CREDENTIAL = 3, REC_CERT = 4 };

/* Tags: never reuse a number for another meaning. */
static const struct codec_field enrolment_fields[] = {
    FSTR(1, struct store_enrolment, reference, 1),
    {2, F_BYTES, 0, 1, offsetof(struct store_enrolment, code_mac), 32, 0},
    FSTR(3, struct store_enrolment, subject, 0),
    FSTR(4, struct store_enrolment, profile, 0),
    FSTR(5, struct store_enrolment, email, 0),
    {6, F_STRS, 0, 4, offsetof(struct store_enrolment, dns_names), STORE_NAME_LEN, 0},
    FINT(7, struct store_enrolment, state),
    FINT(8, struct store_enrolment, failures),
    FI64(9, struct store_enrolment, created_at),
    FI64(10, struct store_enrolment, expires_at),
    FSTR(11, struct store_enrolment, credential_id, 0),
};

static const struct codec_field account_fields[] = {
    FSTR(1, struct store_account, id, 1),  FSTR(2, struct store_account, thumbprint, 1),
    FSTR(3, struct store_account, jwk, 0), FINT(4, struct store_account, status),
    FINT(5, struct store_account, role),   FI64(6, struct store_account, created_at),
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
};

static const struct codec_field cert_fields[] = {
    FSTR(1, struct store_cert, serial, 1),
    FSTR(2, struct store_cert, credential_id, 0),
    FINT(3, struct store_cert, status),
    FINT(4, struct store_cert, reason),
    FI64(5, struct store_cert, not_before),
    FI64(6, struct store_cert, not_after),
    FI64(7, struct store_cert, revoked_at),
    {8, F_BLOB, 0, 1, offsetof(struct store_cert, der), STORE_DER_MAX,
     offsetof(struct store_cert, der_len)},
};

static void cert_init(void *rec)
{
	((struct store_cert *)rec)->reason = -1;
}

#define DESC(t, T, key, initfn, tbl)                                                               \
	{                                                                                          \
		t, sizeof(T), offsetof(T, key), initfn, tbl, ARRAY_LEN(tbl)                        \
	}

const struct codec_desc codec_enrolment =
    DESC(REC_ENROLMENT, struct store_enrolment, reference, NULL, enrolment_fields);
const struct codec_desc codec_account =
    DESC(REC_ACCOUNT, struct store_account, id, NULL, account_fields);
const struct codec_desc codec_credential =
    DESC(REC_CREDENTIAL, struct store_credential, id, NULL, credential_fields);
const struct codec_desc codec_cert =
    DESC(REC_CERT, struct store_cert, serial, cert_init, cert_fields);

const char *codec_key(const struct codec_desc *d, const void *rec)
{
	return (const char *)rec + d->key_off;
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
	default: { /* F_INT, F_I64: both widened to int64_t, stored as one zigzag varint */
		int64_t v;
		int v32;
		if (i > 0)
			return 1;
		if (f->kind == F_INT) {
			memcpy(&v32, base, sizeof(v32));
			v = v32;
		} else {
			memcpy(&v, base, sizeof(v));
		}
		pl->num = zigzag(v);
		pl->is_num = 1;
		pl->len = varint_len(pl->num);
		return 0;
	}
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
	default: /* F_INT, F_I64: exactly one varint fills the payload */
		if (varint_get(&q, p + len, &u) != 0 || q != p + len)
			return CF_EINTERNAL;
		if (f->kind == F_INT) {
			int64_t v = unzigzag(u);
			int iv;
			if (v < INT_MIN || v > INT_MAX)
				return CF_EINTERNAL;
			iv = (int)v;
			memcpy(base, &iv, sizeof(iv));
		} else {
			int64_t v = unzigzag(u);
			memcpy(base, &v, sizeof(v));
		}
		return 0;
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
