/*
 * store_codec — the binary encoding of store records (internal to server/store/).
 *
 * A value is: one format-version octet, one record-type octet, the number of fields (varint),
 * then the fields, each `tag (varint) | length (varint) | payload`. Integers are zigzag varints,
 * strings are their bytes without NUL, byte strings are raw. Decoders skip unknown tags, so a field
 * can be added later with a new tag; a tag is never reused for another meaning. The version octet
 * changes only if this framing changes. A value written before a field existed decodes with that
 * field "" or 0 (the issue 3 fields of enrolments and credentials came in this way, and the
 * issue 4 fields of credentials: remote, update_by, update_note).
 *
 * Decoding never reads outside the given buffer and never trusts a length: a truncated or
 * corrupt value gives CF_EINTERNAL. Knows nothing of LMDB.
 */
#ifndef STORE_CODEC_H
#define STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_VERSION 1

struct codec_desc; /* one per record type */

extern const struct codec_desc codec_enrolment;	  /* struct store_enrolment */
extern const struct codec_desc codec_account;	  /* struct store_account */
extern const struct codec_desc codec_credential;  /* struct store_credential */
extern const struct codec_desc codec_cert;	  /* struct store_cert */
extern const struct codec_desc codec_subject;	  /* struct store_subject */
extern const struct codec_desc codec_application; /* struct store_application */
extern const struct codec_desc codec_challenge;	  /* struct store_challenge */
extern const struct codec_desc codec_message;	  /* struct store_message */
extern const struct codec_desc codec_audit;	  /* struct store_audit */
extern const struct codec_desc codec_custody;	  /* struct store_custody */
extern const struct codec_desc codec_login;	  /* struct store_login */
extern const struct codec_desc codec_session;	  /* struct store_session */
extern const struct codec_desc codec_coupon;	  /* struct store_coupon */

/* Check rec (every string NUL-terminated inside its array, key non-empty or non-zero, lengths in
 * range) and give the encoded size. CF_EMALFORMED if rec is not storable. */
int codec_size(const struct codec_desc *d, const void *rec, size_t *out);

/* Encode rec into buf, whose size len must be what codec_size gave. */
int codec_encode(const struct codec_desc *d, const void *rec, uint8_t *buf, size_t len);

/* Decode buf into rec (a struct of d's type, fully overwritten, also on failure).
 * CF_EINTERNAL if the value is truncated, corrupt, of another type or of a newer version. */
int codec_decode(const struct codec_desc *d, const uint8_t *buf, size_t len, void *rec);

/* The record's key as stored: the key string (reference, id, serial) of rec without its NUL, or
 * for the records numbered by a counter (message, audit) the number big-endian in buf. *len is its
 * length; the result points into rec or buf. */
const void *codec_key(const struct codec_desc *d, const void *rec, uint8_t buf[8], size_t *len);

/* A secondary index key: [owner NUL] order (8 octets, big-endian, sign flipped so that memcmp
 * sorts by order) suffix. An index over all records of a table has no owner (NULL). Owners are
 * ids or account ids, suffixes ids, serials or challenge ids: each shorter than 64 octets. */
struct codec_ikey {
	uint8_t b[64 + 8 + 64];
	size_t len;
};

void codec_ikey(struct codec_ikey *k, const char *owner, int64_t order, const void *suffix,
		size_t slen);

/* The order of a key of an index without owner (its first 8 octets). */
int64_t codec_ikey_order(const uint8_t b[8]);

/* The big-endian octets of v (numbered keys sort in numeric order), and back. */
void codec_u64_be(uint64_t v, uint8_t out[8]);
uint64_t codec_be_u64(const uint8_t in[8]);

/* Size of d's struct. */
size_t codec_rec_size(const struct codec_desc *d);

#endif
