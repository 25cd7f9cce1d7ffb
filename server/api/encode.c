/*
 * encode — the JSON objects of spec/protocol.md (§9 credential and certificate, §12 enrolment,
 * §6 account), shared by the resources that return them. Member names are the spec's, exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_err.h"

void api_url(const struct http_req *req, const char *kind, const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/v1/%s/%s", req->base_url, kind, id);
}

int api_add_time(cf_json *obj, const char *key, int64_t t)
{
	char s[21];

	cf_time_format(t, s);
	return cf_json_add_str(obj, key, s);
}

cf_json *api_cert_json(const struct http_req *req, const struct store_cert *cert)
{
	cf_json *o = cf_json_new_object();
	char certid[160], url[HTTP_MAX_URL + 200];
	char *pem = cf_pem_encode("CERTIFICATE", cert->der, cert->der_len);
	int ret = 0;

	if (!o || !pem)
		goto fail;
	ret |= cf_json_add_str(o, "serial", cert->serial);
	ret |= api_add_time(o, "notBefore", cert->not_before);
	ret |= api_add_time(o, "notAfter", cert->not_after);
	ret |= cf_json_add_str(o, "status", core_cert_status(cert, cf_now()));
	if (cert->status != CERT_VALID) {
		ret |= cf_json_add_int(o, "reason", cert->reason);
		ret |= api_add_time(o, "revokedAt", cert->revoked_at);
	}
	ret |= cf_json_add_str(o, "pem", pem);
	if (core_certid(req->core, cert->serial, certid, sizeof(certid)) == 0) {
		api_url(req, "renewal-info", certid, url, sizeof(url));
		ret |= cf_json_add_str(o, "renewalInfo", url);
	}
	if (ret != 0)
		goto fail;
	free(pem);
	return o;
fail:
	free(pem);
	cf_json_free(o);
	return NULL;
}

struct certs_ctx {
	const struct http_req *req;
	const char *current;
	int full;
	cf_json *arr;
	int64_t cur_not_after;
};

static int add_cert(const struct store_cert *cert, void *ctx)
{
	struct certs_ctx *cc = ctx;
	cf_json *c;

	if (strcmp(cert->serial, cc->current) == 0)
		cc->cur_not_after = cert->not_after;
	if (!cc->full)
		return cf_json_push_str(cc->arr, cert->serial);
	c = api_cert_json(cc->req, cert);
	return c ? cf_json_push(cc->arr, c) : CF_ENOMEM;
}

int api_credential_json(const struct http_req *req, const struct store_credential *cr,
			int full_certs, cf_json **out)
{
	struct certs_ctx cc = {.req = req, .current = cr->current_serial, .full = full_certs};
	char url[HTTP_MAX_URL + 100];
	cf_json *o = cf_json_new_object();
	int ret = CF_ENOMEM;

	cc.arr = cf_json_new_array();
	if (!o || !cc.arr)
		goto fail;
	ret = core_credential_certs(req->core, cr->id, add_cert, &cc);
	if (ret != 0)
		goto fail;
	api_url(req, "credential", cr->id, url, sizeof(url));
	ret = cf_json_add_str(o, "id", cr->id);
	ret |= cf_json_add_str(o, "url", url);
	ret |= cf_json_add_str(o, "status", core_credential_status(cr, cc.cur_not_after, cf_now()));
	ret |= cf_json_add_str(o, "profile", cr->profile);
	ret |= cf_json_add_str(o, "subject", cr->subject);
	ret |= cf_json_add(o, "certificates", cc.arr);
	cc.arr = NULL;
	if (ret != 0) {
		ret = CF_ENOMEM;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	cf_json_free(cc.arr);
	cf_json_free(o);
	return ret;
}

cf_json *api_enrolment_json(const struct store_enrolment *e)
{
	cf_json *o = cf_json_new_object();
	cf_json *dns = cf_json_new_array();
	int ret = 0, i;

	if (!o || !dns)
		goto fail;
	ret |= cf_json_add_str(o, "reference", e->reference);
	ret |= cf_json_add_str(o, "subject", e->subject);
	ret |= cf_json_add_str(o, "profile", e->profile);
	ret |= cf_json_add_str(o, "status", core_enrolment_status(e, cf_now()));
	ret |= api_add_time(o, "created", e->created_at);
	ret |= api_add_time(o, "expires", e->expires_at);
	ret |= cf_json_add_int(o, "failures", e->failures);
	if (e->email[0])
		ret |= cf_json_add_str(o, "email", e->email);
	if (e->eab_key_len > 0)
		ret |= cf_json_add_bool(o, "acme", 1);
	if (e->acme_validate)
		ret |= cf_json_add_str(o, "acmeValidation",
				       core_acme_validation_name(e->acme_validate));
	for (i = 0; i < 4 && e->dns_names[i][0]; i++)
		ret |= cf_json_push_str(dns, e->dns_names[i]);
	if (i > 0)
		ret |= cf_json_add(o, "dnsNames", dns);
	else
		cf_json_free(dns);
	dns = NULL;
	if (ret == 0)
		return o;
fail:
	cf_json_free(dns);
	cf_json_free(o);
	return NULL;
}

struct acct_creds {
	const struct http_req *req;
	cf_json *arr;
};

static int add_cred_url(const struct store_credential *cr, void *ctx)
{
	struct acct_creds *ac = ctx;
	char url[HTTP_MAX_URL + 100];

	api_url(ac->req, "credential", cr->id, url, sizeof(url));
	return cf_json_push_str(ac->arr, url);
}

int api_account_json(const struct http_req *req, const struct store_account *a, cf_json **out)
{
	struct acct_creds ac = {.req = req, .arr = cf_json_new_array()};
	cf_json *o = cf_json_new_object();
	int ret = CF_ENOMEM;

	if (!o || !ac.arr)
		goto fail;
	ret = core_account_credentials(req->core, a->id, add_cred_url, &ac);
	if (ret != 0)
		goto fail;
	ret = cf_json_add_str(o, "status", a->status == ACCOUNT_VALID ? "valid" : "deactivated");
	ret |= cf_json_add(o, "credentials", ac.arr);
	ac.arr = NULL;
	if (ret != 0) {
		ret = CF_ENOMEM;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	cf_json_free(ac.arr);
	cf_json_free(o);
	return ret;
}

static int issue_json(const struct http_req *req, const struct core_issue_result *res,
		      cf_json **out)
{
	char url[HTTP_MAX_URL + 100];
	cf_json *o = cf_json_new_object(), *cred = NULL, *cert;
	int ret = CF_ENOMEM;

	if (!o)
		return CF_ENOMEM;
	ret = api_credential_json(req, &res->credential, 0, &cred);
	if (ret != 0)
		goto fail;
	cert = api_cert_json(req, &res->cert);
	api_url(req, "account", res->account.id, url, sizeof(url));
	ret = cf_json_add_str(o, "account", url);
	ret |= cf_json_add(o, "credential", cred);
	ret |= cert ? cf_json_add(o, "certificate", cert) : CF_ENOMEM;
	ret |= cf_json_add_str(o, "chain", ca_chain_pem(req->core->ca));
	if (ret != 0) {
		ret = CF_ENOMEM;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	cf_json_free(o);
	return ret;
}

int api_get_b64u(const cf_json *obj, const char *key, size_t max_len, uint8_t **out,
		 size_t *out_len)
{
	const char *s;
	int ret = cf_json_get_str(obj, key, max_len, &s);

	if (ret != 0)
		return ret;
	return cf_b64url_decode_alloc(s, strlen(s), out, out_len);
}

int api_issue_respond(const struct http_req *req, const struct core_issue_result *res, int status,
		      struct http_resp *resp)
{
	cf_json *doc = NULL;
	int ret = issue_json(req, res, &doc);

	if (ret != 0)
		return ret;
	api_url(req, "credential", res->credential.id, resp->location, sizeof(resp->location));
	return http_resp_json(resp, status, doc);
}

int api_problem_attempts(struct http_resp *resp, int attempts_left)
{
	if (attempts_left < 0)
		return 0;
	cf_json_free(resp->extra);
	resp->extra = cf_json_new_object();
	if (!resp->extra || cf_json_add_int(resp->extra, "attemptsLeft", attempts_left) != 0)
		return CF_ENOMEM;
	return 0;
}

void api_who(const struct http_req *req, struct core_who *who, char buf[API_WHO_LEN])
{
	if (req->account)
		snprintf(buf, API_WHO_LEN, "%s:%s",
			 req->account->role == ROLE_ADMIN ? "admin" : "account", req->account->id);
	else
		snprintf(buf, API_WHO_LEN, "anonymous");
	who->actor = buf;
	who->remote = req->remote_addr ? req->remote_addr : "";
	who->name = req->account && req->account->role == ROLE_ADMIN
			? core_operator_name(req->account)
			: NULL;
}

int api_rate(struct http_resp *resp, struct core *c, const struct core_who *who, int kind_addr,
	     int kind_target, const char *target)
{
	char when[21];
	int64_t retry_at = 0;
	int ret = core_rate_take(c, who, kind_addr, kind_target, target, &retry_at);

	if (ret == CF_ERATELIMIT) {
		cf_time_format(retry_at, when);
		snprintf(resp->detail, sizeof(resp->detail),
			 "too many requests of this kind: try again after %s", when);
		resp->retry_at = retry_at;
	}
	return ret;
}

int api_session(const struct http_req *req, struct http_resp *resp, int allow_restricted,
		struct core_session *out)
{
	int ret =
	    core_session_check(req->core, req->bearer ? req->bearer : "", allow_restricted, out);

	if (ret == CF_ESESSION)
		snprintf(resp->detail, sizeof(resp->detail), "%s",
			 req->bearer && req->bearer[0]
			     ? "the session token is unknown, expired or logged out: log in again"
			     : "this resource needs a session token (Authorization: Bearer)");
	else if (ret == CF_EPWCHANGE)
		snprintf(resp->detail, sizeof(resp->detail),
			 "change your first password before anything else");
	return ret;
}
