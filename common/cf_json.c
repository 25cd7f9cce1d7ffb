/*
 * cf_json — bounded JSON on cJSON; the only file that includes cJSON.h.
 *
 * A cf_json is a cJSON node (the opaque type is a cast). Parsing first checks the raw bytes
 * against RFC 8259's grammar without recursion (depth, UTF-8, control characters, numbers, no
 * \u0000 escape that cJSON would silently truncate a string at), so that cJSON's recursive
 * parser only ever sees a well-formed document at most CF_JSON_MAX_DEPTH deep; then cJSON parses
 * exactly len bytes and the tree is walked for string sizes and duplicate member names. Member
 * lookup is always case-sensitive (cJSON_GetObjectItem is not, so it is never used).
 */
#include "cf_json.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define J(v) ((cJSON *)(v))
#define CJ(v) ((const cJSON *)(v))

/* The grammar of RFC 8259 §2–§7, checked in one pass over the raw bytes with an explicit stack,
 * before cJSON sees anything: cJSON parses recursively up to 1,000 levels (more than a worker
 * thread's stack holds) and accepts what JSON is not ("1.", a raw TAB or LF in a string). Also
 * refused here: bytes that are not UTF-8, a NUL byte, a "\u0000" escape (cJSON would cut the
 * string there), nesting deeper than CF_JSON_MAX_DEPTH. */
struct scan {
	const uint8_t *p;
	size_t len, i;
};

static void skip_ws(struct scan *s)
{
	while (s->i < s->len && (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\n' ||
				 s->p[s->i] == '\r'))
		s->i++;
}

static int is_digit(const struct scan *s)
{
	return s->i < s->len && s->p[s->i] >= '0' && s->p[s->i] <= '9';
}

static int is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string, at its opening quote. */
static int scan_string(struct scan *s)
{
	for (s->i++; s->i < s->len;) {
		uint8_t c = s->p[s->i];
		size_t n;

		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c < 0x20) /* control characters must be escaped (§7); NUL included */
			return CF_EMALFORMED;
		if (c == '\\') {
			if (s->len - s->i < 2)
				return CF_EMALFORMED;
			c = s->p[s->i + 1];
			if (c == 'u') {
				if (s->len - s->i < 6 || !is_hex(s->p[s->i + 2]) ||
				    !is_hex(s->p[s->i + 3]) || !is_hex(s->p[s->i + 4]) ||
				    !is_hex(s->p[s->i + 5]) ||
				    memcmp(s->p + s->i + 2, "0000", 4) == 0)
					return CF_EMALFORMED;
				s->i += 6;
			} else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
				   c == 'n' || c == 'r' || c == 't') {
				s->i += 2;
			} else {
				return CF_EMALFORMED;
			}
			continue;
		}
		n = cf_utf8_len(s->p + s->i, s->len - s->i);
		if (n == 0)
			return CF_EMALFORMED;
		s->i += n;
	}
	return CF_EMALFORMED;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(struct scan *s)
{
	if (s->p[s->i] == '-')
		s->i++;
	if (!is_digit(s))
		return CF_EMALFORMED;
	if (s->p[s->i++] != '0')
		while (is_digit(s))
			s->i++;
	if (s->i < s->len && s->p[s->i] == '.') {
		s->i++;
		if (!is_digit(s))
			return CF_EMALFORMED;
		while (is_digit(s))
			s->i++;
	}
	if (s->i < s->len && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->len && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (!is_digit(s))
			return CF_EMALFORMED;
		while (is_digit(s))
			s->i++;
	}
	return 0;
}

static int scan_literal(struct scan *s)
{
	static const char *const lit[] = {"true", "false", "null"};

	for (size_t k = 0; k < sizeof(lit) / sizeof(lit[0]); k++) {
		size_t n = strlen(lit[k]);
		if (s->len - s->i >= n && memcmp(s->p + s->i, lit[k], n) == 0) {
			s->i += n;
			return 0;
		}
	}
	return CF_EMALFORMED;
}

/* A member name and its colon, after '{' or ','. */
static int scan_name(struct scan *s)
{
	skip_ws(s);
	if (s->i >= s->len || s->p[s->i] != '"' || scan_string(s) != 0)
		return CF_EMALFORMED;
	skip_ws(s);
	if (s->i >= s->len || s->p[s->i] != ':')
		return CF_EMALFORMED;
	s->i++;
	return 0;
}

/* Depth counts containers: a value inside 16 nested arrays/objects is fine, 17 is not. */
static int scan_document(const char *buf, size_t len)
{
	struct scan s = {(const uint8_t *)buf, len, 0};
	uint8_t open[CF_JSON_MAX_DEPTH]; /* the closing bracket each open container waits for */
	size_t depth = 0;
	int ret;

	for (;;) {
		uint8_t c;

		/* a value */
		skip_ws(&s);
		if (s.i >= len)
			return CF_EMALFORMED;
		c = s.p[s.i];
		if (c == '{' || c == '[') {
			if (depth == CF_JSON_MAX_DEPTH)
				return CF_EMALFORMED;
			open[depth++] = c == '{' ? '}' : ']';
			s.i++;
			skip_ws(&s);
			if (s.i < len && s.p[s.i] == open[depth - 1]) {
				s.i++;
				depth--;
			} else {
				if (c == '{' && scan_name(&s) != 0)
					return CF_EMALFORMED;
				continue;
			}
		} else {
			ret = c == '"'				   ? scan_string(&s)
			      : c == '-' || (c >= '0' && c <= '9') ? scan_number(&s)
								   : scan_literal(&s);
			if (ret != 0)
				return ret;
		}
		/* after a value: close containers until a ',' asks for the next value */
		for (;;) {
			skip_ws(&s);
			if (depth == 0)
				return s.i == len ? 0 : CF_EMALFORMED;
			if (s.i >= len)
				return CF_EMALFORMED;
			c = s.p[s.i++];
			if (c == ',') {
				if (open[depth - 1] == '}' && scan_name(&s) != 0)
					return CF_EMALFORMED;
				break;
			}
			if (c != open[depth - 1])
				return CF_EMALFORMED;
			depth--;
		}
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicate member names of one object: pairwise for small objects, sorted beyond that. */
static int has_duplicates(const cJSON *obj, size_t count)
{
	const char **names;
	size_t i = 0;
	int dup = 0;

	if (count <= 16) {
		for (const cJSON *a = obj->child; a; a = a->next)
			for (const cJSON *b = a->next; b; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return 1;
		return 0;
	}
	names = malloc(count * sizeof(*names));
	if (!names)
		return -1;
	for (const cJSON *c = obj->child; c; c = c->next)
		names[i++] = c->string;
	qsort(names, count, sizeof(*names), cmp_names);
	for (i = 1; i < count && !dup; i++)
		dup = strcmp(names[i - 1], names[i]) == 0;
	free(names);
	return dup;
}

/* String sizes and duplicate member names; the scan has already bounded the depth, so this
 * recursion is at most CF_JSON_MAX_DEPTH deep. */
static int walk(const cJSON *v)
{
	size_t count = 0;
	int dup;

	if (cJSON_IsString(v) && strlen(v->valuestring) > CF_JSON_MAX_STRING)
		return CF_EMALFORMED;
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		int ret;
		if (cJSON_IsObject(v) && strlen(c->string) > CF_JSON_MAX_STRING)
			return CF_EMALFORMED;
		ret = walk(c);
		if (ret != 0)
			return ret;
		count++;
	}
	if (!cJSON_IsObject(v) || count < 2)
		return 0;
	dup = has_duplicates(v, count);
	return dup < 0 ? CF_ENOMEM : dup ? CF_EMALFORMED : 0;
}

int cf_json_parse(const char *buf, size_t len, cf_json **out)
{
	const char *end = NULL;
	cJSON *doc = NULL;
	int ret = CF_EMALFORMED;

	if (!buf || len == 0 || scan_document(buf, len) != 0)
		goto out;
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!doc || !end)
		goto out;
	/* only white space may follow the value */
	for (; end < buf + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
			goto out;
	ret = walk(doc);
	if (ret != 0)
		goto out;
	*out = (cf_json *)doc;
	doc = NULL;
out:
	cf_json_free((cf_json *)doc);
	return ret;
}

/* Wipe every string a tree owns (values and member names): a request payload or an
 * enrolment-create answer holds an activation code. Borrowed (reference) strings are not ours. */
static void wipe_strings(cJSON *v)
{
	for (; v; v = v->next) {
		if (v->valuestring && !(v->type & cJSON_IsReference))
			cf_zeroize(v->valuestring, strlen(v->valuestring));
		if (v->string && !(v->type & cJSON_StringIsConst))
			cf_zeroize(v->string, strlen(v->string));
		if (!(v->type & cJSON_IsReference))
			wipe_strings(v->child);
	}
}

void cf_json_free(cf_json *doc)
{
	/* cJSON_Delete frees doc and its next siblings, so wipe exactly those */
	wipe_strings(J(doc));
	cJSON_Delete(J(doc));
}

int cf_json_is_object(const cf_json *v)
{
	return v && cJSON_IsObject(CJ(v));
}

int cf_json_is_array(const cf_json *v)
{
	return v && cJSON_IsArray(CJ(v));
}

int cf_json_is_string(const cf_json *v)
{
	return v && cJSON_IsString(CJ(v));
}

const cf_json *cf_json_get(const cf_json *obj, const char *key)
{
	if (!cf_json_is_object(obj) || !key)
		return NULL;
	return (const cf_json *)cJSON_GetObjectItemCaseSensitive(CJ(obj), key);
}

int cf_json_str(const cf_json *v, size_t max_len, const char **out)
{
	if (!cf_json_is_string(v) || !CJ(v)->valuestring)
		return CF_EMALFORMED;
	if (strnlen(CJ(v)->valuestring, max_len + 1) > max_len)
		return CF_EMALFORMED;
	*out = CJ(v)->valuestring;
	return 0;
}

int cf_json_get_str(const cf_json *obj, const char *key, size_t max_len, const char **out)
{
	const char *s;
	int ret = cf_json_str(cf_json_get(obj, key), max_len, &s);

	if (ret != 0 || s[0] == '\0')
		return CF_EMALFORMED;
	*out = s;
	return 0;
}

int cf_json_get_str_opt(const cf_json *obj, const char *key, size_t max_len, const char **out)
{
	const cf_json *v = cf_json_get(obj, key);

	if (!cf_json_is_object(obj))
		return CF_EMALFORMED;
	if (!v) {
		*out = NULL;
		return 0;
	}
	return cf_json_str(v, max_len, out);
}

int cf_json_get_int(const cf_json *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = CJ(cf_json_get(obj, key));
	double d;

	if (!v || !cJSON_IsNumber(v))
		return CF_EMALFORMED;
	d = v->valuedouble;
	/* integral, and inside int64 before the cast (converting anything else is undefined) */
	if (!isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
	    (double)(int64_t)d != d)
		return CF_EMALFORMED;
	if ((int64_t)d < min || (int64_t)d > max)
		return CF_EMALFORMED;
	*out = (int64_t)d;
	return 0;
}

int cf_json_get_bool(const cf_json *obj, const char *key, int *out)
{
	const cJSON *v = CJ(cf_json_get(obj, key));

	if (!v || !cJSON_IsBool(v))
		return CF_EMALFORMED;
	*out = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

size_t cf_json_array_size(const cf_json *arr)
{
	size_t n = 0;

	if (!cf_json_is_array(arr))
		return 0;
	for (const cJSON *c = CJ(arr)->child; c; c = c->next)
		n++;
	return n;
}

const cf_json *cf_json_array_item(const cf_json *arr, size_t i)
{
	const cJSON *c;

	if (!cf_json_is_array(arr))
		return NULL;
	for (c = CJ(arr)->child; c && i > 0; c = c->next)
		i--;
	return (const cf_json *)c;
}

cf_json *cf_json_new_object(void)
{
	return (cf_json *)cJSON_CreateObject();
}

cf_json *cf_json_new_array(void)
{
	return (cf_json *)cJSON_CreateArray();
}

int cf_json_add(cf_json *obj, const char *key, cf_json *child)
{
	/* a document we build must be one we would accept: no duplicate names */
	if (!child || !key || !cf_json_is_object(obj) || cf_json_get(obj, key)) {
		cf_json_free(child);
		return child ? CF_EMALFORMED : CF_ENOMEM;
	}
	if (!cJSON_AddItemToObject(J(obj), key, J(child))) {
		cf_json_free(child);
		return CF_ENOMEM;
	}
	return 0;
}

int cf_json_add_str(cf_json *obj, const char *key, const char *val)
{
	if (!val)
		return CF_EMALFORMED;
	return cf_json_add(obj, key, (cf_json *)cJSON_CreateString(val));
}

int cf_json_add_int(cf_json *obj, const char *key, int64_t val)
{
	return cf_json_add(obj, key, (cf_json *)cJSON_CreateNumber((double)val));
}

int cf_json_add_bool(cf_json *obj, const char *key, int val)
{
	return cf_json_add(obj, key, (cf_json *)cJSON_CreateBool(val ? 1 : 0));
}

int cf_json_push(cf_json *arr, cf_json *child)
{
	if (!child || !cf_json_is_array(arr)) {
		cf_json_free(child);
		return child ? CF_EMALFORMED : CF_ENOMEM;
	}
	if (!cJSON_AddItemToArray(J(arr), J(child))) {
		cf_json_free(child);
		return CF_ENOMEM;
	}
	return 0;
}

int cf_json_push_str(cf_json *arr, const char *val)
{
	if (!val)
		return CF_EMALFORMED;
	return cf_json_push(arr, (cf_json *)cJSON_CreateString(val));
}

cf_json *cf_json_dup(const cf_json *v)
{
	if (!v)
		return NULL;
	return (cf_json *)cJSON_Duplicate(CJ(v), 1);
}

char *cf_json_print(const cf_json *v)
{
	if (!v)
		return NULL;
	return cJSON_PrintUnformatted(CJ(v));
}
