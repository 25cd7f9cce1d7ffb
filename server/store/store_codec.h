/*
 * store_codec — the binary encoding of store records (internal to server/store/).
 *
 * A value is: one format-version octet, one record-type octet, the number of fields (varint),
 * then the fields, each `tag (varint) | length (varint) | payload`. Integers are zigzag varints,
 * strings are their bytes without NUL, byte strings are raw. Decoders skip unknown tags, so a field
 * can be added later with a new tag; a tag is never reused for another meaning. The version octet
 * changes only if this framing changes.
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

extern const struct codec_desc codec_enrolment;	 /* struct store_enrolment */
extern const struct codec_desc codec_account;	 /* struct store_account */
extern const struct codec_desc codec_credential; /* struct store_credential */
extern const struct codec_desc codec_cert;	 /* struct store_cert */

/* Check rec (every string NUL-terminated inside its array, key non-empty, lengths in range) and
 * give the encoded size. CF_EMALFORMED if rec is not storable. */
int codec_size(const struct codec_desc *d, const void *rec, size_t *out);

/* Encode rec into buf, whose size len must be what codec_size gave. */
int codec_encode(const struct codec_desc *d, const void *rec, uint8_t *buf, size_t len);

/* Decode buf into rec (a struct of d's type, fully overwritten, also on failure).
 * CF_EINTERNAL if the value is truncated, corrupt, of another type or of a newer version. */
int codec_decode(const struct codec_desc *d, const uint8_t *buf, size_t len, void *rec);

/* The record's key string (reference, id or serial) inside rec. */
const char *codec_key(const struct codec_desc *d, const void *rec);

/* Size of d's struct. */
size_t codec_rec_size(const struct codec_desc *d);

#endif
