/*
 * cf_b64 — base64url without padding (RFC 4648 §5) for JWS and the protocol, and padded base64 in
 * 64-column lines for PEM output. The decoder is strict and never guesses: padding, white space,
 * characters outside the alphabet, a length of 1 mod 4 or non-zero trailing bits are malformed,
 * so every value has exactly one encoding.
 */
#include "cf_b64.h"
#include "cf_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64url character → 6-bit value, 0xff for everything else (including '=', '+', '/'). */
/* clang-format off */
static const uint8_t b64url_val[256] = {
#define X 0xff
	/* 0x00 */ X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	/* 0x10 */ X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	/* 0x20 */ X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,
	/* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,
	/* 0x40 */ X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
	/* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  63,
	/* 0x60 */ X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	/* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};
/* clang-format on */

size_t cf_b64url_enc_len(size_t n)
{
	static const size_t tail[3] = {0, 2, 3};
	return n / 3 * 4 + tail[n % 3];
}

size_t cf_b64url_dec_len(size_t n)
{
	static const size_t tail[4] = {0, 0, 1, 2};
	return n / 4 * 3 + tail[n % 4];
}

/* Encode in to out with alphabet a; no padding, no NUL. Returns the number of characters. */
static size_t encode_raw(const char *a, const uint8_t *in, size_t in_len, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= in_len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (in_len - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (in_len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = a[v >> 10];
		out[o++] = a[(v >> 4) & 63];
		out[o++] = a[(v << 2) & 63];
	}
	return o;
}

int cf_b64url_encode(const uint8_t *in, size_t in_len, char *out, size_t out_cap, size_t *out_len)
{
	size_t need;

	if (in_len > (SIZE_MAX - 4) / 4 * 3)
		return CF_EMALFORMED;
	need = cf_b64url_enc_len(in_len);
	if (!out || out_cap < need + 1)
		return CF_EMALFORMED;
	encode_raw(b64url_alpha, in, in_len, out);
	out[need] = '\0';
	if (out_len)
		*out_len = need;
	return 0;
}

char *cf_b64url_encode_alloc(const uint8_t *in, size_t in_len)
{
	size_t need;
	char *s;

	if (in_len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	need = cf_b64url_enc_len(in_len) + 1;
	s = malloc(need);
	if (s && cf_b64url_encode(in, in_len, s, need, NULL) != 0) {
		free(s);
		s = NULL;
	}
	return s;
}

int cf_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t n = cf_b64url_dec_len(in_len), i = 0, o = 0;
	uint32_t v;

	/* one leftover character carries only 6 bits: no octet can end there */
	if (in_len % 4 == 1 || n > out_cap || (in_len && !in))
		return CF_EMALFORMED;
	for (; i + 4 <= in_len; i += 4) {
		uint32_t a = b64url_val[p[i]], b = b64url_val[p[i + 1]], c = b64url_val[p[i + 2]],
			 d = b64url_val[p[i + 3]];
		if ((a | b | c | d) & 0x80)
			return CF_EMALFORMED;
		v = a << 18 | b << 12 | c << 6 | d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	if (in_len - i >= 2) {
		uint32_t a = b64url_val[p[i]], b = b64url_val[p[i + 1]];
		uint32_t c = in_len - i == 3 ? b64url_val[p[i + 2]] : 0;
		if ((a | b | c) & 0x80)
			return CF_EMALFORMED;
		v = a << 18 | b << 12 | c << 6;
		/* the bits below the last whole octet must be zero (canonical encoding) */
		if (in_len - i == 2 ? (v & 0xffff) : (v & 0xff))
			return CF_EMALFORMED;
		out[o++] = (uint8_t)(v >> 16);
		if (in_len - i == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	if (out_len)
		*out_len = o;
	return 0;
}

int cf_b64url_decode_alloc(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	size_t n = cf_b64url_dec_len(in_len), got = 0;
	/* one spare octet so that an empty result is still a valid allocation */
	uint8_t *buf = malloc(n + 1);
	int ret;

	if (!buf)
		return CF_ENOMEM;
	ret = cf_b64url_decode(in, in_len, buf, n, &got);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	if (out_len)
		*out_len = got;
	return 0;
}

char *cf_pem_encode(const char *label, const uint8_t *der, size_t der_len)
{
	static const char dashes[] = "-----";
	size_t label_len, chars, lines, cap, o = 0;
	char *s;

	if (!label || (der_len && !der) || der_len > SIZE_MAX / 2)
		return NULL;
	label_len = strlen(label);
	chars = (der_len + 2) / 3 * 4;
	lines = (chars + 63) / 64;
	cap = 2 * (sizeof("-----BEGIN -----\n") + label_len) + chars + lines + 1;
	s = malloc(cap);
	if (!s)
		return NULL;
	o += (size_t)sprintf(s, "%sBEGIN %s%s\n", dashes, label, dashes);
	for (size_t i = 0; i < der_len; i += 48) {
		size_t take = der_len - i < 48 ? der_len - i : 48;
		size_t n = encode_raw(b64_alpha, der + i, take, s + o);
		o += n;
		/* pad the last group of the last line to a multiple of 4 */
		while (n % 4) {
			s[o++] = '=';
			n++;
		}
		s[o++] = '\n';
	}
	o += (size_t)sprintf(s + o, "%sEND %s%s\n", dashes, label, dashes);
	return s;
}

char *cf_b64_encode_alloc(const uint8_t *in, size_t in_len)
{
	size_t n = cf_b64url_enc_len(in_len), i;
	char *s = malloc(n + 3);

	if (!s || cf_b64url_encode(in, in_len, s, n + 1, &n) != 0) {
		free(s);
		return NULL;
	}
	for (i = 0; i < n; i++)
		s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4 != 0)
		s[n++] = '=';
	s[n] = '\0';
	return s;
}
