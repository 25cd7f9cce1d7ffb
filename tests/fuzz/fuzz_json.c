/* fuzz_json — cf_json_parse, the one JSON parser of server, agent and admin CLI: never crashes,
 * never recurses past the worker's stack, and what it accepts prints to text it accepts again. */
#include "fuzz.h"

#include "cf_json.h"

static void one(const uint8_t *data, size_t size)
{
	cf_json *doc = NULL, *again = NULL;
	char *text;

	if (cf_json_parse((const char *)data, size, &doc) != 0)
		return;
	text = cf_json_print(doc);
	if (!text || cf_json_parse(text, strlen(text), &again) != 0)
		abort(); /* a document we accepted must survive its own printing */
	cf_json_free(again);
	free(text);
	cf_json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
