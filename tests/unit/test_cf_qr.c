/* test_cf_qr — shape of the terminal and SVG renderings (decoding is checked by integration). */
#include "check.h"

#include <stdlib.h>

#include "cf_err.h"
#include "cf_qr.h"

#define TEXT "https://ca.example/v1/enrol?reference=123456789012"

/* Code points in the UTF-8 text s[0..len). */
static size_t code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static void test_qr_utf8_is_a_square_of_half_blocks(void)
{
	char *out = NULL;
	size_t lines = 0, width = 0;
	int only_blocks = 1;

	CHECK_EQ_INT(cf_qr_utf8(TEXT, &out), 0);
	CHECK(out != NULL);
	if (!out)
		return;
	for (const char *line = out; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n;
		CHECK(nl != NULL);
		if (!nl)
			break;
		n = code_points(line, (size_t)(nl - line));
		if (lines == 0)
			width = n;
		CHECK_EQ_INT(n, width);
		for (const char *c = line; c < nl;) {
			if (*c == ' ')
				c++;
			else if (strncmp(c, "\xe2\x96\x80", 3) == 0 ||
				 strncmp(c, "\xe2\x96\x84", 3) == 0 ||
				 strncmp(c, "\xe2\x96\x88", 3) == 0)
				c += 3;
			else {
				only_blocks = 0;
				break;
			}
		}
		lines++;
		line = nl + 1;
	}
	CHECK(only_blocks);
	/* a QR symbol is 21 + 4k modules wide, plus 4 modules of quiet zone on each side */
	CHECK(width >= 29 && (width - 29) % 4 == 0);
	CHECK_EQ_INT(lines, (width + 1) / 2);
	/* the quiet zone is light, light is drawn as full blocks: the first line is all █ */
	CHECK(strncmp(out, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88", 12) == 0);
	free(out);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_qr_svg_is_well_formed_with_one_path(void)
{
	char *svg = NULL, want[128];
	const char *d, *end;
	int size = 0, ok = 1;

	CHECK_EQ_INT(cf_qr_svg(TEXT, 4, &svg), 0);
	CHECK(svg != NULL);
	if (!svg)
		return;
	CHECK(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	CHECK(strcmp(svg + strlen(svg) - 7, "</svg>\n") == 0);
	CHECK_EQ_INT(count(svg, "<svg"), 1);
	CHECK_EQ_INT(count(svg, "</svg>"), 1);
	CHECK_EQ_INT(count(svg, "<path"), 1);
	CHECK_EQ_INT(count(svg, "<rect"), 1);
	CHECK_EQ_INT(count(svg, "fill=\"#ffffff\""), 1);
	CHECK_EQ_INT(count(svg, "<"), count(svg, ">"));
	CHECK(sscanf(strstr(svg, "viewBox=\""), "viewBox=\"0 0 %d", &size) == 1);
	CHECK(size >= 29 && (size - 29) % 4 == 0);
	snprintf(want, sizeof(want), "width=\"%d\" height=\"%d\"", size * 4, size * 4);
	CHECK(strstr(svg, want) != NULL);
	/* the path data is only moves and lines inside the quiet zone */
	d = strstr(svg, " d=\"");
	CHECK(d != NULL);
	if (d) {
		d += 4;
		end = strchr(d, '"');
		for (const char *c = d; c < end; c++)
			ok &= strchr("M0123456789 hv-z", *c) != NULL;
		CHECK(ok && end - d > 100);
		CHECK(strncmp(d, "M4 4h7v1h-7z", 12) == 0); /* top edge of the finder pattern */
	}
	free(svg);
}

static void test_qr_rejects_empty_text_and_bad_scale(void)
{
	char *out = NULL;

	CHECK_EQ_INT(cf_qr_utf8("", &out), CF_EMALFORMED);
	CHECK_EQ_INT(cf_qr_utf8(NULL, &out), CF_EMALFORMED);
	CHECK_EQ_INT(cf_qr_svg(TEXT, 0, &out), CF_EMALFORMED);
	CHECK_EQ_INT(cf_qr_svg(TEXT, 65, &out), CF_EMALFORMED);
	CHECK(out == NULL);
}

static void test_qr_rejects_text_beyond_capacity(void)
{
	char *big = malloc(4000), *out = NULL;

	memset(big, 'x', 3999);
	big[3999] = '\0';
	CHECK_EQ_INT(cf_qr_svg(big, 1, &out), CF_EMALFORMED);
	CHECK(out == NULL);
	free(big);
}

int main(void)
{
	RUN(test_qr_utf8_is_a_square_of_half_blocks);
	RUN(test_qr_svg_is_well_formed_with_one_path);
	RUN(test_qr_rejects_empty_text_and_bad_scale);
	RUN(test_qr_rejects_text_beyond_capacity);
	return check_done();
}
