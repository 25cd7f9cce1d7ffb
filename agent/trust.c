/*
 * trust — `--ca-fingerprint sha256:…` instead of `--ca FILE` (spec/cli.md "Trust"): fetch the
 * server's CA chain over a connection that trusts nothing yet, keep the root whose SHA-256 is the
 * fingerprint (the one printed in the server's mails and its directory, given out of band), and
 * write it as the trust anchor file every later connection verifies the server against.
 */
#include "agent.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_err.h"
#include "cf_file.h"
#include "cf_json.h"
#include "transport.h"

static int get(transport *t, const char *url, struct http_response *r)
{
	int ret = transport_request(t, "GET", url, NULL, NULL, 0, r);

	if (ret == 0 && r->status != 200)
		ret = CF_EPROTO;
	return ret;
}

/* "sha256:" and 64 hexadecimal digits, ':' allowed between octets (checked again, exactly, by
 * transport_pin_root): a typo is a usage error before anything is fetched. */
static int fingerprint_ok(const char *fp)
{
	size_t hex = 0;

	if (strncasecmp(fp, "sha256:", 7) != 0)
		return 0;
	for (fp += 7; *fp; fp++) {
		if (isxdigit((unsigned char)*fp))
			hex++;
		else if (*fp != ':')
			return 0;
	}
	return hex == 64;
}

int agent_trust_fingerprint(const char *server, const char *fingerprint, const char *path)
{
	struct http_response r = {0};
	transport *t = NULL;
	cf_json *dir = NULL;
	const char *chain_url = NULL;
	char url[1024], *root = NULL;
	int ret;

	if (!fingerprint_ok(fingerprint)) {
		agent_err("--ca-fingerprint must be sha256: and 64 hexadecimal digits");
		return AGENT_USAGE;
	}
	if ((ret = transport_new_bootstrap(server, 0, &t)) != 0) {
		agent_err("cannot use server %s: %s", server,
			  ret == CF_EUSAGE ? "not an https:// URL" : cf_strerror(ret));
		return ret == CF_EUSAGE ? AGENT_USAGE : AGENT_FAIL;
	}
	snprintf(url, sizeof(url), "%s/v1/directory", server);
	if ((ret = get(t, url, &r)) != 0 || cf_json_parse(r.body, r.body_len, &dir) != 0 ||
	    cf_json_get_str(dir, "caChain", sizeof(url) - 1, &chain_url) != 0 ||
	    !transport_same_origin(t, chain_url)) {
		agent_err("cannot fetch the CA chain of %s: %s", server,
			  ret ? transport_last_error(t) : "its directory names none");
		ret = AGENT_FAIL;
		goto out;
	}
	snprintf(url, sizeof(url), "%s", chain_url);
	http_response_clear(&r);
	if ((ret = get(t, url, &r)) != 0) {
		agent_err("cannot fetch the CA chain of %s: %s", server, transport_last_error(t));
		ret = AGENT_FAIL;
		goto out;
	}
	ret = transport_pin_root(r.body, r.body_len, fingerprint, &root);
	if (ret == CF_EUSAGE) {
		agent_err("--ca-fingerprint must be sha256: and 64 hexadecimal digits");
		ret = AGENT_USAGE;
		goto out;
	}
	if (ret != 0) {
		agent_err(
		    "the server %s does not hold the CA of fingerprint %s: do not use it, and "
		    "check the address and the fingerprint you were given",
		    server, fingerprint);
		ret = AGENT_FAIL;
		goto out;
	}
	if ((ret = cf_file_write(path, root, strlen(root), 0644, 0)) != 0) {
		agent_err("cannot write the trust anchor %s: %s", path, cf_strerror(ret));
		ret = AGENT_FAIL;
		goto out;
	}
	ret = AGENT_OK;
out:
	free(root);
	cf_json_free(dir);
	http_response_clear(&r);
	transport_free(t);
	return ret;
}
