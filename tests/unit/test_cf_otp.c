/* test_cf_otp — HOTP (RFC 4226 appendix D), TOTP (RFC 6238 appendix B, SHA-1), base32 (RFC 4648
 * §10), the TOTP window and replay rules, otpauth URIs, and one code against oathtool(1). */
#include "check.h"

#include <stdint.h>
#include <time.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_otp.h"

/* The RFC 4226 / RFC 6238 SHA-1 seed: ASCII "12345678901234567890" */
static const uint8_t rfc_seed[] = "12345678901234567890";
#define RFC_SEED_LEN 20

static void test_hotp_matches_rfc4226_appendix_d(void)
{
	static const uint32_t want[10] = {755224, 287082, 359152, 969429, 338314,
					  254676, 287922, 162583, 399871, 520489};

	for (uint64_t c = 0; c < 10; c++)
		CHECK_EQ_INT(cf_hotp(rfc_seed, RFC_SEED_LEN, c, 6), want[c]);
}

static void test_totp_matches_rfc6238_appendix_b_sha1(void)
{
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {{59, 94287082},	 {1111111109, 7081804},	 {1111111111, 14050471},
		 {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130}};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_EQ_INT(cf_totp(rfc_seed, RFC_SEED_LEN, v[i].t, 30, 8), v[i].code);
}

static void test_base32_matches_rfc4648_section_10(void)
{
	/* RFC 4648 §10 without its padding ('=' is accepted on input, never written) */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",	     "MY",	 "MZXQ",      "MZXW6",
					  "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
	static const char *const padded[] = {
	    "", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
	char out[32];
	uint8_t dec[16];
	size_t n;

	for (int i = 0; i < 7; i++) {
		CHECK_EQ_INT(
		    cf_base32_encode((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof(out)),
		    0);
		CHECK_EQ_STR(out, enc[i]);
		n = 99;
		CHECK_EQ_INT(cf_base32_decode(enc[i], dec, sizeof(dec), &n), 0);
		CHECK(n == strlen(plain[i]) && memcmp(dec, plain[i], n) == 0);
		n = 99;
		CHECK_EQ_INT(cf_base32_decode(padded[i], dec, sizeof(dec), &n), 0);
		CHECK(n == strlen(plain[i]) && memcmp(dec, plain[i], n) == 0);
	}
}

static void test_base32_decode_takes_lower_case_and_spaces_refuses_junk(void)
{
	uint8_t dec[16];
	size_t n = 0;

	CHECK_EQ_INT(cf_base32_decode("mzxw 6ytb oi", dec, sizeof(dec), &n), 0);
	CHECK(n == 6 && memcmp(dec, "foobar", 6) == 0);
	CHECK_EQ_INT(cf_base32_decode("MZXW1", dec, sizeof(dec), &n), CF_EMALFORMED); /* '1' */
	CHECK_EQ_INT(cf_base32_decode("MZX", dec, sizeof(dec), &n), CF_EMALFORMED);   /* 3 chars */
	CHECK_EQ_INT(cf_base32_decode("MY=A", dec, sizeof(dec), &n), CF_EMALFORMED);  /* after = */
	CHECK_EQ_INT(cf_base32_decode("MZXW6YTBOI", dec, 5, &n), CF_EMALFORMED);      /* too long */
	CHECK_EQ_INT(cf_base32_encode((const uint8_t *)"foobar", 6, (char *)dec, 10), CF_EUSAGE);
}

static void test_totp_check_accepts_the_window_and_each_step_once(void)
{
	const int64_t now = 1111111111; /* step 37037037 */
	char code[9];
	int64_t last = 0;

	/* the previous step's code is inside a window of 1 */
	snprintf(code, sizeof(code), "%06u", cf_totp(rfc_seed, RFC_SEED_LEN, now - 30, 30, 6));
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, code, now, 30, 6, 1, &last), 0);
	CHECK_EQ_INT(last, 37037036);
	/* the same code again is a replay */
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, code, now, 30, 6, 1, &last), CF_EBADOTP);
	CHECK_EQ_INT(last, 37037036);
	/* the current step is still fresh */
	snprintf(code, sizeof(code), "%06u", cf_totp(rfc_seed, RFC_SEED_LEN, now, 30, 6));
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, code, now, 30, 6, 1, &last), 0);
	CHECK_EQ_INT(last, 37037037);
	/* two steps back is outside the window */
	last = 0;
	snprintf(code, sizeof(code), "%06u", cf_totp(rfc_seed, RFC_SEED_LEN, now - 60, 30, 6));
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, code, now, 30, 6, 1, &last), CF_EBADOTP);
	CHECK_EQ_INT(last, 0);
}

static void test_totp_check_refuses_malformed_codes(void)
{
	int64_t last = 0;

	/* RFC 6238: 8-digit code 14050471 at 1111111111; these are not it */
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, "14050471", 1111111111, 30, 8, 0, &last),
		     0);
	last = 0;
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, "1405047", 1111111111, 30, 8, 0, &last),
		     CF_EBADOTP);
	CHECK_EQ_INT(
	    cf_totp_check(rfc_seed, RFC_SEED_LEN, "140504710", 1111111111, 30, 8, 0, &last),
	    CF_EBADOTP);
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, "1405047 ", 1111111111, 30, 8, 0, &last),
		     CF_EBADOTP);
	CHECK_EQ_INT(cf_totp_check(rfc_seed, RFC_SEED_LEN, "-4050471", 1111111111, 30, 8, 0, &last),
		     CF_EBADOTP);
	CHECK_EQ_INT(last, 0);
}

static void test_otpauth_uri_percent_encodes_issuer_and_account(void)
{
	char uri[256];

	CHECK_EQ_INT(cf_otpauth_uri("Example CA", "alice@example.org", (const uint8_t *)"foobar", 6,
				    6, 30, uri, sizeof(uri)),
		     0);
	CHECK_EQ_STR(uri, "otpauth://totp/Example%20CA:alice%40example.org?secret=MZXW6YTBOI"
			  "&issuer=Example%20CA&algorithm=SHA1&digits=6&period=30");
	CHECK_EQ_INT(cf_otpauth_uri("Example CA", "alice@example.org", (const uint8_t *)"foobar", 6,
				    6, 30, uri, 40),
		     CF_EUSAGE);
}

static void test_totp_agrees_with_oathtool(void)
{
	uint8_t seed[CF_OTP_SEED_LEN];
	char b32[64], cmd[256], got[32] = "";
	uint32_t t;
	FILE *p;

	/* a random seed at a random time, so this is not one more copy of the RFC vectors */
	CHECK_EQ_INT(cf_random(seed, sizeof(seed)), 0);
	CHECK_EQ_INT(cf_random(&t, sizeof(t)), 0);
	t &= 0x7fffffff;
	CHECK_EQ_INT(cf_base32_encode(seed, sizeof(seed), b32, sizeof(b32)), 0);
	snprintf(cmd, sizeof(cmd), "oathtool --totp=sha1 -b -d 6 -s 30 -N @%u %s", t, b32);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(fgets(got, sizeof(got), p) != NULL);
	CHECK_EQ_INT(pclose(p), 0);
	got[strcspn(got, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "%06u", cf_totp(seed, sizeof(seed), t, 30, 6));
	CHECK_EQ_STR(got, cmd);
}

int main(void)
{
	RUN(test_hotp_matches_rfc4226_appendix_d);
	RUN(test_totp_matches_rfc6238_appendix_b_sha1);
	RUN(test_base32_matches_rfc4648_section_10);
	RUN(test_base32_decode_takes_lower_case_and_spaces_refuses_junk);
	RUN(test_totp_check_accepts_the_window_and_each_step_once);
	RUN(test_totp_check_refuses_malformed_codes);
	RUN(test_otpauth_uri_percent_encodes_issuer_and_account);
	RUN(test_totp_agrees_with_oathtool);
	return check_done();
}
