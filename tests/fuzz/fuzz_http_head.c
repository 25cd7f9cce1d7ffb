/* fuzz_http_head — the HTTP heads certflow parses itself: the agent's response-head parser
 * (http_parse_head: status line, Content-Length, Transfer-Encoding, Date, …) and the server's
 * per-request checks on what CivetWeb hands over (route table lookup on the raw path, the
 * framing rule on Content-Length/Transfer-Encoding, the media types). The input is a head: its
 * first line "METHOD PATH …" and "Name: value" lines. */
#include "fuzz.h"

#include <stdio.h>
#include <strings.h>

#include "http.h"
#include "http1.h"
#include "transport.h"

static int handler(const struct http_req *req, struct http_resp *resp)
{
	(void)req;
	(void)resp;
	return 0;
}

static const struct http_route routes[] = {
    {"GET", "/v1/directory", HTTP_AUTH_NONE, handler},
    {"HEAD", "/v1/new-nonce", HTTP_AUTH_NONE, handler},
    {"POST", "/v1/activate", HTTP_AUTH_JWK, handler},
    {"POST", "/v1/account/*", HTTP_AUTH_KID, handler},
    {"GET", "/v1/cert/*", HTTP_AUTH_NONE, handler},
    {"POST", "/v1/portal/status", HTTP_AUTH_BEARER, handler},
    {NULL, NULL, HTTP_AUTH_NONE, NULL},
};

/* The server's view: request line and headers as CivetWeb would give them. */
static void server_checks(char *text)
{
	const char *te = NULL, *ct = NULL, *cl = NULL;
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	char method[16] = "", path[HTTP_MAX_URL] = "", allow[64];
	const struct http_route *route;
	const char *param;
	size_t plen;
	int status = 0;

	if (!line || sscanf(line, "%15s %255s", method, path) != 2)
		return;
	if (http_route_find(routes, method, path, &route, &param, &plen) == 0 &&
	    plen > strlen(path))
		abort(); /* the matched segment lies inside the path */
	http_route_allow(routes, path, allow, sizeof(allow));
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (strcasecmp(line, "Transfer-Encoding") == 0)
			te = colon + 1;
		else if (strcasecmp(line, "Content-Type") == 0)
			ct = colon + 1;
		else if (strcasecmp(line, "Content-Length") == 0)
			cl = colon + 1;
	}
	(void)http_check_framing(method, cl ? strtoll(cl, NULL, 10) : -1, te, &status);
	(void)http_is_jose_json(ct);
	(void)http_is_json(ct);
}

static void one(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct http_response r;
	struct http_head h;

	memset(&r, 0, sizeof(r));
	(void)http_parse_head(text, &h, &r);
	http_response_clear(&r);
	free(text);
	text = fuzz_cstr(data, size);
	server_checks(text);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_on_worker_stack(one, data, size);
	return 0;
}
