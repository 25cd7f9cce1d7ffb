/*
 * cf_qr — QR codes of public data (URLs, reference numbers, otpauth URIs) with libqrencode:
 * error correction level M, 8-bit mode, case-sensitive, a 4-module quiet zone.
 *
 * Terminal output draws the LIGHT modules (and the quiet zone) as blocks and leaves the dark
 * modules as spaces, as `qrencode -t UTF8` does: on the usual light-text-on-dark terminal the
 * background supplies the dark modules, and the symbol scans. Each line holds two module rows
 * (upper half ▀, lower half ▄, both █, neither space); a missing last row counts as dark.
 * A renderer that paints blocks dark sees the code inverted.
 *
 * SVG output is one white <rect> and one black <path> of horizontal runs, in module units with
 * width/height scaled to px per module. libqrencode is never seen outside this file.
 */
#include "cf_qr.h"
#include "cf_err.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET 4
#define PX_MAX 64

static int encode(const char *text, QRcode **out)
{
	QRcode *qr;

	if (!text || !*text)
		return CF_EMALFORMED;
	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return errno == ENOMEM ? CF_ENOMEM : CF_EMALFORMED;
	*out = qr;
	return 0;
}

/* 1 if module (x, y) of the symbol with its quiet zone is dark; outside the symbol is light. */
static int dark(const QRcode *qr, int x, int y)
{
	x -= QUIET;
	y -= QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->data[y * qr->width + x] & 1;
}

int cf_qr_utf8(const char *text, char **out)
{
	static const char *const cells[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
	QRcode *qr = NULL;
	char *buf, *p;
	int size, ret = encode(text, &qr);

	if (ret != 0)
		return ret;
	size = qr->width + 2 * QUIET;
	/* (size + 1) / 2 lines of size cells of ≤ 3 octets and a newline, then a NUL */
	buf = malloc((size_t)(size + 1) / 2 * ((size_t)size * 3 + 1) + 1);
	if (!buf) {
		QRcode_free(qr);
		return CF_ENOMEM;
	}
	p = buf;
	for (int y = 0; y < size; y += 2) {
		for (int x = 0; x < size; x++) {
			int top = !dark(qr, x, y);
			int bottom = y + 1 < size && !dark(qr, x, y + 1);
			const char *c = cells[top << 1 | bottom];
			size_t n = strlen(c);
			memcpy(p, c, n);
			p += n;
		}
		*p++ = '\n';
	}
	*p = '\0';
	QRcode_free(qr);
	*out = buf;
	return 0;
}

int cf_qr_svg(const char *text, int px, char **out)
{
	QRcode *qr = NULL;
	char *buf;
	size_t cap, o;
	int size, ret;

	if (px < 1 || px > PX_MAX)
		return CF_EMALFORMED;
	ret = encode(text, &qr);
	if (ret != 0)
		return ret;
	size = qr->width + 2 * QUIET;
	/* each run "M<x> <y>h<n>v1h-<n>z" is < 24 octets; a row has ≤ (width + 1) / 2 runs */
	cap = (size_t)qr->width * (size_t)(qr->width + 1) / 2 * 24 + 512;
	buf = malloc(cap);
	if (!buf) {
		QRcode_free(qr);
		return CF_ENOMEM;
	}
	o = (size_t)snprintf(
	    buf, cap,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"",
	    size * px, size * px, size, size, size, size);
	for (int y = QUIET; y < size - QUIET; y++) {
		for (int x = QUIET; x < size - QUIET;) {
			int run = 0;
			while (dark(qr, x + run, y))
				run++;
			if (run)
				o += (size_t)snprintf(buf + o, cap - o, "M%d %dh%dv1h-%dz", x, y,
						      run, run);
			x += run ? run : 1;
		}
	}
	snprintf(buf + o, cap - o, "\"/></svg>\n");
	QRcode_free(qr);
	*out = buf;
	return 0;
}
