/*
 * cf_otp — HOTP (RFC 4226), TOTP (RFC 6238) with HMAC-SHA-1, base32 (RFC 4648 §6) and
 * otpauth:// URIs. Seeds and codes are secrets: every HMAC output and expected code made here is
 * wiped before return, and cf_totp_check looks at every step of its window whatever matches.
 */
#include "cf_otp.h"
#include "cf_crypto.h"
#include "cf_err.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>

static const char b32_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const uint32_t pow10_table[] = {1,      10,	100,	  1000,	    10000,
				       100000, 1000000, 10000000, 100000000};

uint32_t cf_hotp(const uint8_t *seed, size_t seed_len, uint64_t counter, int digits)
{
	uint8_t msg[8], mac[20];
	uint32_t bin;
	unsigned off;

	if (digits < 6 || digits > 8)
		digits = 6;
	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)counter;
		counter >>= 8;
	}
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), seed, seed_len, msg, 8,
			    mac) != 0)
		return UINT32_MAX; /* never a valid code of 6..8 digits */
	/* RFC 4226 §5.3 dynamic truncation */
	off = mac[19] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	      (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	cf_zeroize(mac, sizeof(mac));
	return bin % pow10_table[digits];
}

/* The TOTP step of Unix time t: floor(t / step), also for times before 1970. */
static int64_t totp_step(int64_t t, int step)
{
	int64_t q = t / step;
	return (t % step != 0 && t < 0) ? q - 1 : q;
}

uint32_t cf_totp(const uint8_t *seed, size_t seed_len, int64_t t, int step, int digits)
{
	if (step <= 0)
		step = 30;
	return cf_hotp(seed, seed_len, (uint64_t)totp_step(t, step), digits);
}

int cf_totp_check(const uint8_t *seed, size_t seed_len, const char *code, int64_t now, int step,
		  int digits, int window, int64_t *last_step)
{
	int64_t cur, found = -1;
	uint32_t typed = 0;
	int matched = 0;

	if (!seed || !code || !last_step || step <= 0 || digits < 6 || digits > 8 || window < 0 ||
	    window > 10)
		return CF_EBADOTP;
	if (strlen(code) != (size_t)digits)
		return CF_EBADOTP;
	for (int i = 0; i < digits; i++) {
		if (code[i] < '0' || code[i] > '9') {
			cf_zeroize(&typed, sizeof(typed));
			return CF_EBADOTP;
		}
		typed = typed * 10 + (uint32_t)(code[i] - '0');
	}
	cur = totp_step(now, step);
	/* every step of the window is computed and compared, whichever matches; the first
	 * acceptable match (the oldest step not used yet) wins */
	for (int64_t s = cur - window; s <= cur + window; s++) {
		uint32_t want = cf_hotp(seed, seed_len, (uint64_t)s, digits);
		int hit = cf_ct_equal(&want, &typed, sizeof(want)) & (s > *last_step) & !matched;
		found = hit ? s : found;
		matched |= hit;
		cf_zeroize(&want, sizeof(want));
	}
	cf_zeroize(&typed, sizeof(typed));
	if (!matched)
		return CF_EBADOTP;
	*last_step = found;
	return 0;
}

int cf_base32_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need = (len * 8 + 4) / 5, o = 0;
	uint32_t buf = 0;
	int bits = 0;

	if (!out || len > SIZE_MAX / 8 || cap < need + 1 || (len > 0 && !in))
		return CF_EUSAGE;
	for (size_t i = 0; i < len; i++) {
		buf = (buf << 8 | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alpha[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_alpha[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

/* Value of a base32 character (either case), or -1. */
static int b32_val(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int cf_base32_decode(const char *in, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t o = 0, chars = 0;
	uint32_t buf = 0;
	int bits = 0, pad = 0;

	if (!in || !out_len)
		return CF_EMALFORMED;
	for (const char *p = in; *p; p++) {
		int v;
		if (*p == ' ')
			continue;
		/* padding, if any, only at the end */
		if (*p == '=') {
			pad = 1;
			continue;
		}
		v = b32_val(*p);
		if (v < 0 || pad)
			goto bad;
		chars++;
		buf = (buf << 5 | (uint32_t)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			if (o >= cap)
				goto bad;
			out[o++] = (uint8_t)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	/* 1, 3 or 6 characters left over cannot end a whole number of octets */
	if (chars % 8 == 1 || chars % 8 == 3 || chars % 8 == 6)
		goto bad;
	*out_len = o;
	return 0;
bad:
	/* a seed half decoded is still a secret */
	cf_zeroize(out, o);
	return CF_EMALFORMED;
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept) to out at *o. */
static int pct_append(const char *s, char *out, size_t cap, size_t *o)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~", *p);
		if (*o + (plain ? 1 : 3) >= cap)
			return CF_EUSAGE;
		if (plain) {
			out[(*o)++] = (char)*p;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[*p >> 4];
			out[(*o)++] = hex[*p & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

/* Append the literal text s to out at *o. */
static int str_append(const char *s, char *out, size_t cap, size_t *o)
{
	size_t n = strlen(s);

	if (*o + n >= cap)
		return CF_EUSAGE;
	memcpy(out + *o, s, n + 1);
	*o += n;
	return 0;
}

int cf_otpauth_uri(const char *issuer, const char *account, const uint8_t *seed, size_t seed_len,
		   int digits, int period, char *out, size_t cap)
{
	char secret[128], tail[64];
	size_t o = 0;
	int ret;

	if (!issuer || !account || !seed || !out || cap == 0 || seed_len > 64)
		return CF_EUSAGE;
	if ((ret = cf_base32_encode(seed, seed_len, secret, sizeof(secret))) != 0)
		return ret;
	snprintf(tail, sizeof(tail), "&algorithm=SHA1&digits=%d&period=%d", digits, period);
	if ((ret = str_append("otpauth://totp/", out, cap, &o)) != 0 ||
	    (ret = pct_append(issuer, out, cap, &o)) != 0 ||
	    (ret = str_append(":", out, cap, &o)) != 0 ||
	    (ret = pct_append(account, out, cap, &o)) != 0 ||
	    (ret = str_append("?secret=", out, cap, &o)) != 0 ||
	    (ret = str_append(secret, out, cap, &o)) != 0 ||
	    (ret = str_append("&issuer=", out, cap, &o)) != 0 ||
	    (ret = pct_append(issuer, out, cap, &o)) != 0 ||
	    (ret = str_append(tail, out, cap, &o)) != 0)
		cf_zeroize(out, cap);
	cf_zeroize(secret, sizeof(secret));
	return ret;
}
