/* test_store_codec — the record encoding: round trips, and corrupt or truncated values fail
 * cleanly (run under ASan to see that nothing is read out of bounds). */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "store_codec.h"

#include <stdlib.h>
#include <string.h>

static struct store_cert cert, got;
static uint8_t buf[STORE_DER_MAX + 1024];

static size_t encode_cert(void)
{
	size_t n = 0;

	memset(&cert, 0, sizeof(cert));
	strcpy(cert.serial, "5f1c0a93d2e47b16ac");
	strcpy(cert.credential_id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
	cert.status = CERT_SUSPENDED;
	cert.reason = 6;
	cert.not_before = INT64_MIN;
	cert.not_after = INT64_MAX;
	cert.revoked_at = -1;
	cert.der_len = 40;
	for (size_t i = 0; i < cert.der_len; i++)
		cert.der[i] = (uint8_t)i;
	if (codec_size(&codec_cert, &cert, &n) != 0 || n > sizeof(buf))
		return 0;
	return codec_encode(&codec_cert, &cert, buf, n) == 0 ? n : 0;
}

static void test_cert_roundtrip_keeps_extreme_integers(void)
{
	size_t n = encode_cert();

	CHECK(n > 0);
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, n, &got), 0);
	CHECK(memcmp(&cert, &got, sizeof(cert)) == 0);
}

static void test_truncated_value_fails_cleanly(void)
{
	size_t n = encode_cert();
	int ok = 0;

	/* an exact-size heap copy of each prefix, so that ASan sees any over-read */
	for (size_t len = 0; len < n; len++) {
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, buf, len);
		/* the field count catches even a cut between two fields */
		if (codec_decode(&codec_cert, p, len, &got) == 0)
			ok++;
		free(p);
	}
	CHECK_EQ_INT(ok, 0);
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, 0, &got), CF_EINTERNAL);
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, 1, &got), CF_EINTERNAL);
	CHECK_EQ_INT(codec_decode(&codec_cert, NULL, 0, &got), CF_EINTERNAL);
}

static void test_flipped_bits_never_read_out_of_bounds(void)
{
	size_t n = encode_cert();
	uint8_t *p = malloc(n);

	for (int round = 0; round < 20000; round++) {
		memcpy(p, buf, n);
		for (int k = 0; k < 1 + round % 4; k++)
			p[check_rand() % n] ^= (uint8_t)(1u << (check_rand() % 8));
		if (codec_decode(&codec_cert, p, n, &got) == 0) {
			/* whatever decodes is a well-formed record */
			CHECK(strnlen(got.serial, sizeof(got.serial)) < sizeof(got.serial));
			CHECK(got.der_len <= STORE_DER_MAX);
		}
	}
	free(p);
}

static void test_wrong_version_or_type_is_rejected(void)
{
	size_t n = encode_cert();
	struct store_account a;

	buf[0] = CODEC_VERSION + 1;
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, n, &got), CF_EINTERNAL);
	buf[0] = CODEC_VERSION;
	CHECK_EQ_INT(codec_decode(&codec_account, buf, n, &a), CF_EINTERNAL);
}

static void test_unknown_field_is_skipped_and_duplicate_rejected(void)
{
	size_t n = encode_cert();
	/* tag 99, length 3, payload: a field of a later version */
	static const uint8_t later[] = {99, 3, 'x', 'y', 'z'};
	uint8_t dup[] = {3, 1, 2}; /* status again */

	buf[2]++; /* one field more */
	memcpy(buf + n, later, sizeof(later));
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, n + sizeof(later), &got), 0);
	CHECK(memcmp(&cert, &got, sizeof(cert)) == 0);
	memcpy(buf + n, dup, sizeof(dup));
	CHECK_EQ_INT(codec_decode(&codec_cert, buf, n + sizeof(dup), &got), CF_EINTERNAL);
}

static void test_missing_key_or_oversized_string_is_rejected(void)
{
	uint8_t v[300];
	size_t n = 0;

	/* a value without the serial (tag 1) */
	v[n++] = CODEC_VERSION;
	v[n++] = buf[1];
	v[n++] = 1;
	v[n++] = 3; /* status */
	v[n++] = 1;
	v[n++] = 2;
	CHECK_EQ_INT(codec_decode(&codec_cert, v, n, &got), CF_EINTERNAL);
	/* a serial as long as its array leaves no room for the NUL */
	n = 3;
	v[n++] = 1;
	v[n++] = STORE_SERIAL_LEN;
	memset(v + n, 'a', STORE_SERIAL_LEN);
	n += STORE_SERIAL_LEN;
	CHECK_EQ_INT(codec_decode(&codec_cert, v, n, &got), CF_EINTERNAL);
	/* a NUL inside a string */
	n = 3;
	v[n++] = 1;
	v[n++] = 3;
	v[n++] = 'a';
	v[n++] = 0;
	v[n++] = 'b';
	CHECK_EQ_INT(codec_decode(&codec_cert, v, n, &got), CF_EINTERNAL);
	/* an integer whose varint runs past its field */
	n = 2;
	v[n++] = 2;
	v[n++] = 1;
	v[n++] = 1;
	v[n++] = 'a';
	v[n++] = 3;
	v[n++] = 1;
	v[n++] = 0x80;
	CHECK_EQ_INT(codec_decode(&codec_cert, v, n, &got), CF_EINTERNAL);
	/* a length larger than what is left */
	n = 3;
	v[n++] = 1;
	v[n++] = 0xff;
	v[n++] = 0x7f;
	v[n++] = 'a';
	CHECK_EQ_INT(codec_decode(&codec_cert, v, n, &got), CF_EINTERNAL);
}

static void test_int_out_of_range_is_rejected(void)
{
	/* status = 2^40 does not fit an int */
	uint8_t v[] = {CODEC_VERSION, 0, 2, 1, 1, 'a', 3, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40};
	size_t n = encode_cert();

	(void)n;
	v[1] = buf[1];
	CHECK_EQ_INT(codec_decode(&codec_cert, v, sizeof(v), &got), CF_EINTERNAL);
}

static void test_u32_out_of_range_is_rejected(void)
{
	/* an enrolment "r" whose envelope_number (tag 14) is 2^32, then 2^32 - 1 */
	uint8_t v[] = {CODEC_VERSION, 0, 2, 1, 1, 'r', 14, 5, 0x80, 0x80, 0x80, 0x80, 0x10};
	static struct store_enrolment e;
	struct store_enrolment probe;
	size_t n;

	memset(&probe, 0, sizeof(probe));
	strcpy(probe.reference, "r");
	CHECK_EQ_INT(codec_size(&codec_enrolment, &probe, &n), 0);
	CHECK(n <= sizeof(buf) && codec_encode(&codec_enrolment, &probe, buf, n) == 0);
	v[1] = buf[1];
	CHECK_EQ_INT(codec_decode(&codec_enrolment, v, sizeof(v), &e), CF_EINTERNAL);
	v[8] = v[9] = v[10] = v[11] = 0xff;
	v[12] = 0x0f;
	CHECK_EQ_INT(codec_decode(&codec_enrolment, v, sizeof(v), &e), 0);
	CHECK(e.envelope_number == UINT32_MAX);
}

static void test_numbered_record_key_is_big_endian_and_never_zero(void)
{
	static struct store_audit ev, back;
	uint8_t kb[8];
	const uint8_t *k;
	size_t n = 0, klen = 0;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.action, "unlock");
	CHECK_EQ_INT(codec_size(&codec_audit, &ev, &n), CF_EMALFORMED);
	ev.seq = UINT64_MAX - 1;
	CHECK_EQ_INT(codec_size(&codec_audit, &ev, &n), 0);
	CHECK(n <= sizeof(buf) && codec_encode(&codec_audit, &ev, buf, n) == 0);
	CHECK_EQ_INT(codec_decode(&codec_audit, buf, n, &back), 0);
	CHECK(back.seq == UINT64_MAX - 1);
	CHECK_EQ_STR(back.action, "unlock");
	k = codec_key(&codec_audit, &back, kb, &klen);
	CHECK_EQ_INT(klen, 8);
	CHECK(k[0] == 0xff && k[7] == 0xfe);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	RUN(test_cert_roundtrip_keeps_extreme_integers);
	RUN(test_truncated_value_fails_cleanly);
	RUN(test_flipped_bits_never_read_out_of_bounds);
	RUN(test_wrong_version_or_type_is_rejected);
	RUN(test_unknown_field_is_skipped_and_duplicate_rejected);
	RUN(test_missing_key_or_oversized_string_is_rejected);
	RUN(test_int_out_of_range_is_rejected);
	RUN(test_u32_out_of_range_is_rejected);
	RUN(test_numbered_record_key_is_big_endian_and_never_zero);
	return check_done();
}
