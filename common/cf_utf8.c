/*
 * cf_utf8 — strict UTF-8 decoding (cf_utf8.h). Reads no octet past the first one that does not
 * continue the character, so a NUL-terminated string is never overrun.
 */
#include "cf_utf8.h"

/* The code point of the well-formed character at s (at most n octets) and its length in *len;
 * -1 if there is none. */
static int32_t decode(const unsigned char *s, size_t n, size_t *len)
{
	int32_t cp;
	size_t k;

	if (n == 0)
		return -1;
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 1, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 2, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 3, cp = s[0] & 0x07;
	else
		return -1;
	for (size_t i = 1; i <= k; i++) {
		if (i >= n || (s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	*len = k + 1;
	return cp;
}

int32_t cf_utf8_next(const char **p)
{
	size_t len = 0;
	int32_t cp = decode((const unsigned char *)*p, 4, &len);

	if (cp >= 0)
		*p += len;
	return cp;
}

size_t cf_utf8_len(const void *p, size_t n)
{
	size_t len = 0;

	return decode(p, n, &len) < 0 ? 0 : len;
}
