/* ca_files — GET /v1/ca/chain (PEM, issuing CA then root) and GET /v1/crl (DER, cached by the
 * core). Public, cacheable for a short while. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"

int api_ca_chain(const struct http_req *req, struct http_resp *resp)
{
	const char *pem = ca_chain_pem(req->core->ca);

	resp->body = strdup(pem);
	if (!resp->body)
		return CF_ENOMEM;
	resp->body_len = strlen(pem);
	resp->content_type = "application/pem-certificate-chain";
	resp->cache_control = "public, max-age=3600";
	resp->status = 200;
	return 0;
}

int api_crl(const struct http_req *req, struct http_resp *resp)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int ret = core_crl(req->core, &der, &len);

	if (ret != 0)
		return ret;
	resp->body = (char *)der;
	resp->body_len = len;
	resp->content_type = "application/pkix-crl";
	resp->cache_control = "public, max-age=60";
	resp->status = 200;
	return 0;
}
