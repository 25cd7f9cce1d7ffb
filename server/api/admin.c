/*
 * admin — POST /v1/admin/<operation> (§12), signed by the admin account (checked by the
 * envelope). The activation code is returned once, by enrolment-create, then wiped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"

static const cf_json *payload(const struct http_req *req)
{
	return req->payload; /* NULL for POST-as-GET; the getters then fail as malformed */
}

/* Admin operations all take a payload, {} at least (§4): POST-as-GET is malformed. */
int api_need_payload(const struct http_req *req, struct http_resp *resp)
{
	if (req->payload)
		return 0;
	snprintf(resp->detail, sizeof(resp->detail), "admin operations need a JSON payload");
	return CF_EMALFORMED;
}

#define MAX_SUBJECT 64
#define MAX_DNS_NAMES 4 /* slots of a stored enrolment */

/* 1..64 octets, no control characters. */
static int subject_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return s[0] && strlen(s) <= MAX_SUBJECT;
}

/* A DNS name: dot-separated labels of letters, digits and inner hyphens, 1..63 each. */
static int dns_name_ok(const char *s)
{
	size_t label = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && p[-1] != '-';
}

/* local@domain, no white space, one '@'. */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int decode_enrol(const cf_json *p, struct core_enrol_req *er, char *detail, size_t cap)
{
	const cf_json *dns;
	size_t i, n;

	memset(er, 0, sizeof(*er));
	if (!p || cf_json_get_str(p, "subject", 4 * MAX_SUBJECT, &er->subject) != 0 ||
	    !subject_ok(er->subject)) {
		snprintf(detail, cap,
			 "subject must be 1 to 64 characters without control characters");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str_opt(p, "profile", 32, &er->profile) != 0) {
		snprintf(detail, cap, "profile must be a string");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str_opt(p, "email", STORE_NAME_LEN - 1, &er->email) != 0 ||
	    (er->email && !email_ok(er->email))) {
		snprintf(detail, cap, "email must be an address of at most %d characters",
			 STORE_NAME_LEN - 1);
		return CF_EMALFORMED;
	}
	if (er->profile && !core_profile_known(er->profile)) {
		snprintf(detail, cap, "profile must be \"device\" or \"signing\"");
		return CF_EMALFORMED;
	}
	dns = cf_json_get(p, "dnsNames");
	n = cf_json_array_size(dns);
	if (dns && (!cf_json_is_array(dns) || n > MAX_DNS_NAMES)) {
		snprintf(detail, cap, "dnsNames must be an array of at most %d names",
			 MAX_DNS_NAMES);
		return CF_EMALFORMED;
	}
	for (i = 0; i < n; i++) {
		if (cf_json_str(cf_json_array_item(dns, i), STORE_NAME_LEN - 1,
				&er->dns_names[i]) ||
		    !dns_name_ok(er->dns_names[i])) {
			snprintf(detail, cap,
				 "dnsNames[%zu] is not a DNS name of at most %d characters", i,
				 STORE_NAME_LEN - 1);
			return CF_EMALFORMED;
		}
	}
	return 0;
}

int api_admin_enrolment_create(const struct http_req *req, struct http_resp *resp)
{
	struct core_enrol_req er;
	struct store_enrolment e;
	struct core_who who;
	uint8_t eab[CORE_EAB_KEY_LEN];
	char code[25], actor[API_WHO_LEN], eab_text[48];
	const char *validation = NULL;
	cf_json *doc;
	int ret, acme = 0;

	ret = decode_enrol(payload(req), &er, resp->detail, sizeof(resp->detail));
	if (ret != 0)
		return ret;
	if (cf_json_get(payload(req), "acme") &&
	    cf_json_get_bool(payload(req), "acme", &acme) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "acme must be true or false");
		return CF_EMALFORMED;
	}
	/* an ACME enrolment also gets an external account binding key (spec/acme.md) */
	er.eab_key_out = acme ? eab : NULL;
	if (cf_json_get_str_opt(payload(req), "acmeValidation", 16, &validation) != 0 ||
	    (validation && (!core_acme_validation_parse(validation) || !acme))) {
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "acmeValidation can only be \"http-01\", \"dns-01\" or \"http-01,dns-01\", "
		    "with acme true");
		return CF_EMALFORMED;
	}
	er.acme_validate = validation ? core_acme_validation_parse(validation) : 0;
	api_who(req, &who, actor);
	ret = core_enrolment_create(req->core, &who, &er, &e, code);
	if (ret != 0)
		return ret;
	doc = api_enrolment_json(&e);
	ret = !doc || cf_json_add_str(doc, "activationCode", code) != 0;
	if (!ret && acme)
		ret = cf_b64url_encode(eab, sizeof(eab), eab_text, sizeof(eab_text), NULL) != 0 ||
		      cf_json_add_str(doc, "eabKid", e.reference) != 0 ||
		      cf_json_add_str(doc, "eabHmacKey", eab_text) != 0;
	cf_zeroize(code, sizeof(code));
	cf_zeroize(eab, sizeof(eab));
	cf_zeroize(eab_text, sizeof(eab_text));
	if (ret) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 201, doc);
}

static int push_enrolment(const struct store_enrolment *e, void *ctx)
{
	cf_json *o = api_enrolment_json(e);
	return o ? cf_json_push(ctx, o) : CF_ENOMEM;
}

/* s is NULL or one of the NULL-terminated names. */
static int one_of(const char *s, const char *const *names)
{
	for (; s && *names; names++)
		if (strcmp(s, *names) == 0)
			return 1;
	return !s;
}

struct enrol_page {
	struct api_page pg;
	const char *status, *subject;
	int64_t now;
};

static int page_enrolment(const struct store_enrolment *e, void *ctx)
{
	struct enrol_page *ep = ctx;
	int match = (!ep->subject || strcmp(e->subject, ep->subject) == 0) &&
		    (!ep->status || strcmp(core_enrolment_status(e, ep->now), ep->status) == 0);
	int r = api_page_visit(&ep->pg, e->reference, match);

	if (r == API_PAGE_SKIP)
		return 0;
	return r ? r : push_enrolment(e, ep->pg.arr);
}

int api_admin_enrolment_list(const struct http_req *req, struct http_resp *resp)
{
	static const char *const states[] = {"live",   "used",	    "expired",
					     "locked", "cancelled", NULL};
	struct enrol_page ep = {.now = cf_now()};
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = api_page_start(req, resp, &ep.pg);
	if (ret != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "status", 16, &ep.status) != 0 ||
	    !one_of(ep.status, states) ||
	    cf_json_get_str_opt(req->payload, "subject", 64, &ep.subject) != 0) {
		cf_json_free(ep.pg.arr);
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "status must be live, used, expired, locked or cancelled; subject a string");
		return CF_EMALFORMED;
	}
	ret = core_enrolment_list(req->core, ep.pg.after, page_enrolment, &ep);
	return api_page_answer(resp, "enrolments", &ep.pg, ret);
}

int api_admin_enrolment_cancel(const struct http_req *req, struct http_resp *resp)
{
	struct store_enrolment e;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *ref;
	cf_json *doc;
	int ret;

	if (!payload(req) || cf_json_get_str(payload(req), "reference", STORE_REF_LEN - 1, &ref)) {
		snprintf(resp->detail, sizeof(resp->detail), "reference is required");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = core_enrolment_cancel(req->core, &who, ref, &e);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such enrolment");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "only a live enrolment can be cancelled");
	if (ret != 0)
		return ret;
	doc = api_enrolment_json(&e);
	return doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
}

struct cred_page {
	struct api_page pg;
	const struct http_req *req;
	const char *status, *subject, *profile;
	int64_t expiring_before; /* 0: no such filter */
};

/* The filters that need no more than the record. */
static int cred_prefilter(const struct cred_page *cp, const struct store_credential *cr)
{
	return (!cp->subject || strcmp(cr->subject, cp->subject) == 0) &&
	       (!cp->profile || strcmp(cr->profile, cp->profile) == 0);
}

/* The current certificate's notAfter is before the filter's time. */
static int cred_expiring(const struct cred_page *cp, const struct store_credential *cr)
{
	struct store_cert cert;

	return !cp->expiring_before ||
	       (cr->current_serial[0] &&
		core_cert_get(cp->req->core, cr->current_serial, &cert) == 0 &&
		cert.not_after < cp->expiring_before);
}

static int page_credential(const struct store_credential *cr, void *ctx)
{
	struct cred_page *cp = ctx;
	const char *status = NULL;
	cf_json *o = NULL;
	int match = cred_prefilter(cp, cr) && cred_expiring(cp, cr), ret = 0;

	/* the status (expired, …) is the one the answer shows */
	if (match && (ret = api_credential_json(cp->req, cr, 0, &o)) != 0)
		return ret;
	if (match && cp->status)
		match = cf_json_get_str(o, "status", 16, &status) == 0 &&
			strcmp(status, cp->status) == 0;
	ret = api_page_visit(&cp->pg, cr->id, match);
	if (ret == 0)
		return cf_json_push(cp->pg.arr, o);
	cf_json_free(o);
	return ret == API_PAGE_SKIP ? 0 : ret;
}

int api_admin_credential_list(const struct http_req *req, struct http_resp *resp)
{
	static const char *const states[] = {"active",	"pending", "suspended",
					     "revoked", "expired", NULL};
	struct cred_page cp = {.req = req};
	const char *before = NULL;
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = api_page_start(req, resp, &cp.pg);
	if (ret != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "status", 16, &cp.status) != 0 ||
	    !one_of(cp.status, states) ||
	    cf_json_get_str_opt(req->payload, "subject", 64, &cp.subject) != 0 ||
	    cf_json_get_str_opt(req->payload, "profile", 31, &cp.profile) != 0 ||
	    cf_json_get_str_opt(req->payload, "expiringBefore", 20, &before) != 0 ||
	    (before && cf_time_parse(before, &cp.expiring_before) != 0)) {
		cf_json_free(cp.pg.arr);
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "status must be active, pending, suspended, revoked or expired; subject and "
		    "profile strings; expiringBefore an RFC 3339 time");
		return CF_EMALFORMED;
	}
	ret = core_credential_list(req->core, cp.pg.after, page_credential, &cp);
	return api_page_answer(resp, "credentials", &cp.pg, ret);
}

int api_admin_credential_show(const struct http_req *req, struct http_resp *resp)
{
	struct store_credential cr;
	const char *id;
	cf_json *doc = NULL;
	int ret;

	if (!payload(req) || cf_json_get_str(payload(req), "id", STORE_ID_LEN - 1, &id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "id is required");
		return CF_EMALFORMED;
	}
	ret = core_credential_get(req->core, id, &cr);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such credential");
	if (ret == 0)
		ret = api_credential_json(req, &cr, 1, &doc);
	return ret ? ret : http_resp_json(resp, 200, doc);
}

static int get_serial(const struct http_req *req, struct http_resp *resp, const char **serial)
{
	if (!payload(req) ||
	    cf_json_get_str(payload(req), "serial", STORE_SERIAL_LEN - 1, serial) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "serial is required");
		return CF_EMALFORMED;
	}
	return 0;
}

static int answer_cert(const struct http_req *req, struct http_resp *resp,
		       const struct store_cert *cert, int ret)
{
	cf_json *doc;

	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such certificate");
	if (ret != 0)
		return ret;
	doc = api_cert_json(req, cert);
	return doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
}

/* The store_cert record holds the DER inline (8 KiB): keep it off the worker's stack. */
typedef int (*cert_op)(struct core *c, const struct core_who *who, const char *serial,
		       struct store_cert *out);

static int cert_action(const struct http_req *req, struct http_resp *resp, cert_op op)
{
	struct store_cert *cert = calloc(1, sizeof(*cert));
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *serial;
	int ret = get_serial(req, resp, &serial);

	api_who(req, &who, actor);
	if (ret == 0)
		ret = cert ? op(req->core, &who, serial, cert) : CF_ENOMEM;
	if (ret == 0 || ret == CF_ENOTFOUND)
		ret = answer_cert(req, resp, cert, ret);
	free(cert);
	return ret;
}

static int cert_show(struct core *c, const struct core_who *who, const char *serial,
		     struct store_cert *out)
{
	(void)who; /* a read: nothing to audit */
	return core_cert_get(c, serial, out);
}

int api_admin_certificate_show(const struct http_req *req, struct http_resp *resp)
{
	return cert_action(req, resp, cert_show);
}

int api_admin_suspend(const struct http_req *req, struct http_resp *resp)
{
	return cert_action(req, resp, core_suspend);
}

int api_admin_reinstate(const struct http_req *req, struct http_resp *resp)
{
	return cert_action(req, resp, core_reinstate);
}

int api_admin_revoke(const struct http_req *req, struct http_resp *resp)
{
	struct store_cert *cert;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *serial;
	int64_t reason = 0;
	int ret = get_serial(req, resp, &serial);

	if (ret != 0)
		return ret;
	if (cf_json_get_int(payload(req), "reason", INT32_MIN, INT32_MAX, &reason) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "reason must be an integer");
		return CF_EMALFORMED;
	}
	cert = calloc(1, sizeof(*cert));
	if (!cert)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_revoke(req->core, &who, serial, (int)reason, cert);
	if (ret == CF_EBADREASON)
		snprintf(resp->detail, sizeof(resp->detail),
			 "reason must be 0, 1, 2, 3, 4, 5, 9 or 10 (6 is suspend, 8 reinstate)");
	ret = answer_cert(req, resp, cert, ret);
	free(cert);
	return ret;
}
