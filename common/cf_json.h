/*
 * cf_json — bounded JSON on top of cJSON. The only module that includes cJSON.h.
 *
 * Parsing is strict: explicit length, nothing after the top-level value, nesting depth ≤ 16,
 * strings ≤ 16 KiB, no duplicate member names at any level. Readers return CF_EMALFORMED for a
 * missing member, a wrong type or a string over the caller's bound, so a handler can say
 * "decode or fail" in one line per field.
 *
 * Ownership: a document from cf_json_parse or cf_json_new_* is freed with cf_json_free. Pointers
 * returned by getters point into the document and live as long as it.
 */
#ifndef CF_JSON_H
#define CF_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_json cf_json; /* opaque; a node of a document */

#define CF_JSON_MAX_DEPTH 16
#define CF_JSON_MAX_STRING (16 * 1024)

/* Parse exactly len bytes. 0 and *out, CF_EMALFORMED, or CF_ENOMEM. */
int cf_json_parse(const char *buf, size_t len, cf_json **out);
void cf_json_free(cf_json *doc);

int cf_json_is_object(const cf_json *v);
int cf_json_is_array(const cf_json *v);
int cf_json_is_string(const cf_json *v);

/* Member of an object, or NULL (absent, or obj is not an object). */
const cf_json *cf_json_get(const cf_json *obj, const char *key);

/* Required string member of length 1..max_len (bytes). */
int cf_json_get_str(const cf_json *obj, const char *key, size_t max_len, const char **out);
/* Optional: 0 and *out = NULL when absent; CF_EMALFORMED when present but not a string ≤ max_len. */
int cf_json_get_str_opt(const cf_json *obj, const char *key, size_t max_len, const char **out);
/* Required integral number in [min, max]. */
int cf_json_get_int(const cf_json *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* Required boolean. */
int cf_json_get_bool(const cf_json *obj, const char *key, int *out);
/* String value of v itself (≤ max_len), for array items. */
int cf_json_str(const cf_json *v, size_t max_len, const char **out);

/* Arrays: number of items (0 if not an array) and item i (NULL if out of range). */
size_t cf_json_array_size(const cf_json *arr);
const cf_json *cf_json_array_item(const cf_json *arr, size_t i);

/* Building. Each returns 0, CF_ENOMEM, or CF_EMALFORMED (target not an object/array). The adders
 * copy strings; cf_json_add/cf_json_push take ownership of child even on failure. */
cf_json *cf_json_new_object(void);
cf_json *cf_json_new_array(void);
int cf_json_add_str(cf_json *obj, const char *key, const char *val);
int cf_json_add_int(cf_json *obj, const char *key, int64_t val);
int cf_json_add_bool(cf_json *obj, const char *key, int val);
int cf_json_add(cf_json *obj, const char *key, cf_json *child);
int cf_json_push(cf_json *arr, cf_json *child);
int cf_json_push_str(cf_json *arr, const char *val);
/* Deep copy of v (NULL on allocation failure). */
cf_json *cf_json_dup(const cf_json *v);

/* Compact text; malloc'd, caller frees with free(). NULL on allocation failure. */
char *cf_json_print(const cf_json *v);

#endif
