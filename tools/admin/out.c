/*
 * out — human output of certflow-admin: aligned "key: value" lines for one object, one row per
 * item for lists, RFC 5280 reason names. Shows only what the server sent; never a key.
 */
#include "admin.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_err.h"

#define CELL_MAX 512

struct reason {
	const char *name;
	int code;
	const char *refused; /* why the CLI does not send it, or NULL */
};

static const struct reason reasons[] = {
    {"unspecified", 0, NULL},
    {"keyCompromise", 1, NULL},
    {"cACompromise", 2, NULL},
    {"affiliationChanged", 3, NULL},
    {"superseded", 4, NULL},
    {"cessationOfOperation", 5, NULL},
    {"certificateHold", 6, "to put a certificate on hold use 'certflow-admin suspend SERIAL'"},
    {"removeFromCRL", 8, "to take a certificate off hold use 'certflow-admin reinstate SERIAL'"},
    {"privilegeWithdrawn", 9, NULL},
    {"aACompromise", 10, NULL},
};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

const char *reason_name(int code)
{
	for (size_t i = 0; i < N_REASONS; i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return NULL;
}

static const struct reason *reason_find(const char *text)
{
	char *end;
	long n;

	for (size_t i = 0; i < N_REASONS; i++)
		if (strcasecmp(text, reasons[i].name) == 0)
			return &reasons[i];
	if (!isdigit((unsigned char)text[0]))
		return NULL;
	n = strtol(text, &end, 10);
	for (size_t i = 0; *end == '\0' && i < N_REASONS; i++)
		if (reasons[i].code == n)
			return &reasons[i];
	return NULL;
}

int reason_parse(const char *text, int *out)
{
	const struct reason *r = reason_find(text);

	if (!r)
		return admin_usage(
		    "unknown revocation reason '%s' (names of RFC 5280: unspecified, "
		    "keyCompromise, cACompromise, affiliationChanged, superseded, "
		    "cessationOfOperation, privilegeWithdrawn, aACompromise; or "
		    "their numbers)",
		    text);
	if (r->refused)
		return admin_usage("revoke does not take reason %s: %s", r->name, r->refused);
	*out = r->code;
	return 0;
}

/* Append s to buf (NUL-terminated, capacity cap), cutting with "..." when full. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t len = strlen(buf);

	if (len + strlen(s) < cap) {
		memcpy(buf + len, s, strlen(s) + 1);
		return;
	}
	snprintf(buf + len, cap - len, "%s", s);
	if (cap > 4)
		memcpy(buf + cap - 4, "...", 4);
}

static void array_text(const cf_json *arr, char *buf, size_t cap)
{
	size_t n = cf_json_array_size(arr);
	const char *s;

	for (size_t i = 0; i < n; i++) {
		if (cf_json_str(cf_json_array_item(arr, i), CF_JSON_MAX_STRING, &s))
			continue;
		if (buf[0])
			append(buf, cap, ", ");
		append(buf, cap, s);
	}
}

static void scalar_text(const cf_json *obj, const char *member, char *buf, size_t cap)
{
	const cf_json *v = cf_json_get(obj, member);
	const char *s;
	int64_t n;
	int b;

	if (!v)
		return;
	if (cf_json_is_array(v))
		array_text(v, buf, cap);
	else if (cf_json_str(v, CF_JSON_MAX_STRING, &s) == 0)
		snprintf(buf, cap, "%s", s);
	else if (cf_json_get_int(obj, member, INT64_MIN, INT64_MAX, &n) == 0)
		snprintf(buf, cap, "%" PRId64, n);
	else if (cf_json_get_bool(obj, member, &b) == 0)
		snprintf(buf, cap, "%s", b ? "yes" : "no");
}

/* "123456789012" → "1234-5678-9012"; anything else as is. */
static void ref_text(const cf_json *obj, const char *member, char *buf, size_t cap)
{
	const char *s;
	size_t o = 0;

	if (cf_json_get_str(obj, member, 64, &s))
		return;
	if (strlen(s) != 12 || strspn(s, "0123456789") != 12) {
		snprintf(buf, cap, "%s", s);
		return;
	}
	for (size_t i = 0; i < 12 && o + 2 < cap; i++) {
		if (i && i % 4 == 0)
			buf[o++] = '-';
		buf[o++] = s[i];
	}
	buf[o] = '\0';
}

void field_text(const cf_json *obj, const struct field *f, char *buf, size_t cap)
{
	const cf_json *v = cf_json_get(obj, f->member);
	size_t n = cf_json_array_size(v);
	const char *s;
	int64_t code;

	buf[0] = '\0';
	switch (f->kind) {
	case F_TEXT:
		scalar_text(obj, f->member, buf, cap);
		break;
	case F_REF:
		ref_text(obj, f->member, buf, cap);
		break;
	case F_COUNT:
		if (cf_json_is_array(v))
			snprintf(buf, cap, "%zu", n);
		break;
	case F_LAST:
		if (n && cf_json_str(cf_json_array_item(v, n - 1), CF_JSON_MAX_STRING, &s) == 0)
			snprintf(buf, cap, "%s", s);
		break;
	case F_REASON:
		if (cf_json_get_int(obj, f->member, 0, 255, &code) == 0 && reason_name((int)code))
			snprintf(buf, cap, "%s", reason_name((int)code));
		else
			scalar_text(obj, f->member, buf, cap);
		break;
	}
}

void out_line(int width, const char *label, const char *value)
{
	printf("%*s: %s\n", width, label, value);
}

void out_object(const cf_json *obj, const struct field *fields, size_t n)
{
	char buf[CELL_MAX];
	int width = 0;

	for (size_t i = 0; i < n; i++) {
		field_text(obj, &fields[i], buf, sizeof(buf));
		if (buf[0] && (int)strlen(fields[i].label) > width)
			width = (int)strlen(fields[i].label);
	}
	for (size_t i = 0; i < n; i++) {
		field_text(obj, &fields[i], buf, sizeof(buf));
		if (buf[0])
			out_line(width, fields[i].label, buf);
	}
}

static void print_cell(const char *text, int width, int last)
{
	if (last)
		printf("%s\n", text);
	else
		printf("%-*s  ", width, text);
}

void out_table(const cf_json *arr, const struct field *cols, size_t n)
{
	out_table_rows(arr, cols, n, 1);
}

void out_table_rows(const cf_json *arr, const struct field *cols, size_t n, int header)
{
	size_t rows = cf_json_array_size(arr);
	char buf[CELL_MAX];
	int width[16] = {0};

	if (n > 16)
		n = 16;
	for (size_t c = 0; c < n; c++)
		width[c] = (int)strlen(cols[c].label);
	/* Two passes over the same items: widths first, then the rows. */
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < n; c++) {
			field_text(cf_json_array_item(arr, r), &cols[c], buf, sizeof(buf));
			if ((int)strlen(buf) > width[c])
				width[c] = (int)strlen(buf);
		}
	}
	for (size_t c = 0; header && c < n; c++) {
		snprintf(buf, sizeof(buf), "%s", cols[c].label);
		for (char *p = buf; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		print_cell(buf, width[c], c + 1 == n);
	}
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < n; c++) {
			field_text(cf_json_array_item(arr, r), &cols[c], buf, sizeof(buf));
			print_cell(buf[0] ? buf : "-", width[c], c + 1 == n);
		}
	}
}

void out_raw(const struct http_response *raw)
{
	fwrite(raw->body, 1, raw->body_len, stdout);
	if (!raw->body_len || raw->body[raw->body_len - 1] != '\n')
		putchar('\n');
}
