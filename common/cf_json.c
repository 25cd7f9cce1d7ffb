/*
 * cf_json — bounded JSON on cJSON; the only file that includes cJSON.h.
 *
 * A cf_json is a cJSON node (the opaque type is a cast). Parsing first scans the raw bytes
 * (UTF-8 validity, no NUL, no \u0000 escape that cJSON would silently truncate a string at),
 * lets cJSON parse exactly len bytes, requires nothing but white space after the value, then
 * walks the tree for depth, string sizes and duplicate member names. Member lookup is always
 * case-sensitive (cJSON_GetObjectItem is not, so it is never used).
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

/* Raw checks cJSON does not make: valid UTF-8, no NUL byte, no "\u0000" escape in a string. */
static int scan_raw(const char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;
	int in_str = 0;

	for (size_t i = 0; i < len;) {
		size_t n = cf_utf8_len(p + i, len - i);
		if (n == 0 || p[i] == 0)
			return CF_EMALFORMED;
		if (in_str && p[i] == '\\' && i + 1 < len) {
			if (p[i + 1] == 'u' && len - i >= 6 && memcmp(p + i + 2, "0000", 4) == 0)
				return CF_EMALFORMED;
			/* skip the escaped character so that "\\" and "\"" do not confuse the scan
			 */
			i += 2;
			continue;
		}
		if (p[i] == '"')
			in_str = !in_str;
		i += n;
	}
	return 0;
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

/* Depth counts containers: a value inside 16 nested arrays/objects is fine, 17 is not. */
static int walk(const cJSON *v, int depth)
{
	size_t count = 0;
	int dup;

	if (cJSON_IsString(v) && strlen(v->valuestring) > CF_JSON_MAX_STRING)
		return CF_EMALFORMED;
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return 0;
	if (depth + 1 > CF_JSON_MAX_DEPTH)
		return CF_EMALFORMED;
	for (const cJSON *c = v->child; c; c = c->next) {
		int ret;
		if (cJSON_IsObject(v) && strlen(c->string) > CF_JSON_MAX_STRING)
			return CF_EMALFORMED;
		ret = walk(c, depth + 1);
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

	if (!buf || len == 0 || scan_raw(buf, len) != 0)
		goto out;
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!doc || !end)
		goto out;
	/* only white space may follow the value */
	for (; end < buf + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
			goto out;
	ret = walk(doc, 0);
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
