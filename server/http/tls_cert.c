/* tls_cert — read server.pem's first certificate far enough to find notAfter. */
#include "tls_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_crypto.h"
#include "cf_err.h"

#define MAX_PEM (64 * 1024)

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 between begin and end, skipping white space; stops at '='. */
static size_t b64_decode(const char *s, const char *end, uint8_t *out)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;
	int v;

	for (; s < end && *s != '='; s++) {
		v = b64val((unsigned char)*s);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/* Read one TLV at *p (< end): tag, content start and length; advances *p past it. */
static int der_next(const uint8_t **p, const uint8_t *end, int *tag, const uint8_t **c, size_t *len)
{
	const uint8_t *q = *p;
	size_t l, k;

	if (end - q < 2)
		return CF_EMALFORMED;
	*tag = *q++;
	l = *q++;
	if (l & 0x80) {
		k = l & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - q) < k)
			return CF_EMALFORMED;
		for (l = 0; k; k--)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return CF_EMALFORMED;
	*c = q;
	*len = l;
	*p = q + l;
	return 0;
}

static int der_time(int tag, const uint8_t *c, size_t len, int64_t *out)
{
	char buf[16];
	struct tm tm;
	int y;

	if ((tag == 0x17 && len != 13) || (tag == 0x18 && len != 15) ||
	    (tag != 0x17 && tag != 0x18))
		return CF_EMALFORMED;
	memcpy(buf, c, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (tag == 0x17) {
		if (sscanf(buf, "%2d%2d%2d%2d%2d%2d", &y, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			   &tm.tm_min, &tm.tm_sec) != 6)
			return CF_EMALFORMED;
		y += y < 50 ? 2000 : 1900;
	} else if (sscanf(buf, "%4d%2d%2d%2d%2d%2d", &y, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			  &tm.tm_min, &tm.tm_sec) != 6) {
		return CF_EMALFORMED;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int not_after_of(const uint8_t *der, size_t len, int64_t *out)
{
	const uint8_t *p = der, *end = der + len, *c;
	size_t l;
	int tag, i, ret;

	/* Certificate → tbsCertificate */
	if (der_next(&p, end, &tag, &c, &l) || tag != 0x30)
		return CF_EMALFORMED;
	p = c;
	end = c + l;
	if (der_next(&p, end, &tag, &c, &l) || tag != 0x30)
		return CF_EMALFORMED;
	p = c;
	end = c + l;
	/* [0] version (optional), serial, signature, issuer, then validity */
	if (der_next(&p, end, &tag, &c, &l))
		return CF_EMALFORMED;
	for (i = tag == 0xa0 ? 0 : 1; i < 3; i++)
		if (der_next(&p, end, &tag, &c, &l))
			return CF_EMALFORMED;
	if (der_next(&p, end, &tag, &c, &l) || tag != 0x30)
		return CF_EMALFORMED;
	p = c;
	end = c + l;
	ret = der_next(&p, end, &tag, &c, &l); /* notBefore */
	if (ret == 0)
		ret = der_next(&p, end, &tag, &c, &l);
	return ret ? ret : der_time(tag, c, l, out);
}

int tls_cert_inspect(const char *path, const char *const *names, int64_t *not_after, int *has_names)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", stop[] = "-----END CERTIFICATE";
	char *text = NULL, *b, *e;
	uint8_t *der = NULL;
	size_t n, der_len;
	FILE *f = fopen(path, "r");
	int ret = CF_EMALFORMED;

	if (!f)
		return CF_EIO;
	setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the key, which nothing would wipe */
	text = malloc(MAX_PEM + 1);
	der = malloc(MAX_PEM);
	if (!text || !der) {
		ret = CF_ENOMEM;
		goto out;
	}
	n = fread(text, 1, MAX_PEM, f);
	text[n] = '\0';
	b = strstr(text, begin);
	e = b ? strstr(b, stop) : NULL;
	if (!b || !e)
		goto out;
	der_len = b64_decode(b + sizeof(begin) - 1, e, der);
	ret = not_after_of(der, der_len, not_after);
	*has_names = 1;
	for (; ret == 0 && names && *names; names++)
		if (!memmem(der, der_len, *names, strlen(*names)))
			*has_names = 0;
out:
	fclose(f);
	free(der);
	if (text)
		cf_zeroize(text, MAX_PEM + 1); /* server.pem holds the TLS key too */
	free(text);
	return ret;
}
