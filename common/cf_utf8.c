/*
 * cf_utf8 — strict UTF-8 decoding (cf_utf8.h). Reads no octet past the first one that does not
 * continue the character, so a NUL-terminated string is never overrun.
 */
#include "cf_utf8.h"

int32_t cf_utf8_next(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	int32_t cp;
	int n;

	if (s[0] < 0x80) {
		*p += 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 1, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 2, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 3, cp = s[0] & 0x07;
	else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	*p += n + 1;
	return cp;
}
