/*
 * acme — the RFC 8555 resources under /acme/ (spec/acme.md): directory, accounts bound by an
 * enrolment code (external account binding), pre-authorised orders, finalize, certificate
 * download and revocation. Nonces, the JWS checks and RFC 8555's problem types come from the http
 * layer (HTTP_AUTH_ACME_*, resp->acme); renewalInfo, newNonce and keyChange share the native
 * handlers.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#define ACME_MAX_IDENTIFIERS 100
#define EAB_HEADER_MAX 1024

static void acme_url(const struct http_req *req, const char *kind, const char *id, char *out,
		     size_t cap)
{
	snprintf(out, cap, "%s/acme/%s%s%s", req->base_url, kind, id ? "/" : "", id ? id : "");
}

static int add_url(cf_json *o, const struct http_req *req, const char *key, const char *kind,
		   const char *id)
{
	char url[HTTP_MAX_URL + 128];

	acme_url(req, kind, id, url, sizeof(url));
	return cf_json_add_str(o, key, url);
}

int api_acme_directory(const struct http_req *req, struct http_resp *resp)
{
	cf_json *doc = cf_json_new_object(), *meta = cf_json_new_object();
	char site[HTTP_MAX_URL + 8];
	int ret = !doc || !meta;

	if (!ret) {
		ret |= add_url(doc, req, "newNonce", "new-nonce", NULL);
		ret |= add_url(doc, req, "newAccount", "new-account", NULL);
		ret |= add_url(doc, req, "newOrder", "new-order", NULL);
		ret |= add_url(doc, req, "revokeCert", "revoke-cert", NULL);
		ret |= add_url(doc, req, "keyChange", "key-change", NULL);
		ret |= add_url(doc, req, "renewalInfo", "renewal-info", NULL);
		snprintf(site, sizeof(site), "%s/", req->base_url);
		ret |= cf_json_add_bool(meta, "externalAccountRequired", 1);
		ret |= cf_json_add_str(meta, "website", site);
	}
	if (ret || cf_json_add(doc, "meta", meta) != 0) {
		cf_json_free(meta);
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	resp->cache_control = "public, max-age=3600";
	return http_resp_json(resp, 200, doc);
}

/* ---- accounts ---------------------------------------------------------------------------- */

int api_acme_account_json(const struct http_req *req, const struct store_account *a, cf_json **out)
{
	cf_json *o = cf_json_new_object(), *contact = cf_json_new_array();
	int ret = !o || !contact;

	for (const char *p = a->contact; !ret && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char url[256];

		snprintf(url, sizeof(url), "%.*s", (int)len, p);
		ret = cf_json_push_str(contact, url);
		p += len + (nl != NULL);
	}
	if (!ret) {
		ret |= cf_json_add_str(o, "status",
				       a->status == ACCOUNT_VALID ? "valid" : "deactivated");
		ret |= api_add_time(o, "createdAt", a->created_at);
		ret |= add_url(o, req, "orders", "orders", a->id);
		ret |= cf_json_add(o, "contact", contact);
		contact = NULL;
	}
	cf_json_free(contact);
	if (ret) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	*out = o;
	return 0;
}

static int answer_account(const struct http_req *req, const struct store_account *a, int status,
			  struct http_resp *resp)
{
	cf_json *doc = NULL;
	int ret = api_acme_account_json(req, a, &doc);

	if (ret != 0)
		return ret;
	acme_url(req, "acct", a->id, resp->location, sizeof(resp->location));
	return http_resp_json(resp, status, doc);
}

#define CONTACT_LEN sizeof(((struct store_account *)0)->contact)
/* contact: an array of at most 4 "mailto:" URLs, joined one a line into out (CONTACT_LEN);
 * *given 0 when the payload has none (out ""). */
static int read_contact(const cf_json *p, char *out, int *given, struct http_resp *resp)
{
	const cf_json *c = cf_json_get(p, "contact");
	size_t n = cf_json_array_size(c), used = 0;
	const char *s;

	out[0] = '\0';
	*given = c != NULL;
	if (!c)
		return 0;
	if (!cf_json_is_array(c) || n > 4)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (cf_json_str(cf_json_array_item(c, i), 254, &s) != 0 ||
		    strncmp(s, "mailto:", 7) != 0 || !strchr(s + 7, '@') || strchr(s, '\n') ||
		    strchr(s, '\r'))
			goto bad;
		used += (size_t)snprintf(out + used, CONTACT_LEN - used, "%s%s", i ? "\n" : "", s);
	}
	return 0;
bad:
	snprintf(resp->detail, sizeof(resp->detail),
		 "contact must be a list of at most 4 mailto: addresses");
	return CF_EMALFORMED;
}

/* The externalAccountBinding (RFC 8555 §7.3.4): a JWS by the enrolment's HMAC key over the
 * request's own jwk, with the newAccount url and no nonce. */
struct eab {
	char kid[STORE_REF_LEN];
	char *input; /* "<protected>.<payload>" */
	size_t input_len;
	uint8_t mac[64];
	size_t mac_len;
};

static int eab_decode(const struct http_req *req, const cf_json *b, struct eab *out,
		      struct http_resp *resp)
{
	const char *prot, *pay, *sig, *alg, *kid, *url;
	uint8_t hbuf[EAB_HEADER_MAX], pbuf[STORE_JWK_LEN];
	size_t hlen = 0, plen = 0;
	cf_json *h = NULL, *jwk = NULL;
	cf_key *key = NULL;
	const char *what = NULL;
	int ret = CF_EMALFORMED;

	if (!cf_json_is_object(b) || cf_json_get_str(b, "protected", 2 * EAB_HEADER_MAX, &prot) ||
	    cf_json_get_str(b, "payload", 2 * STORE_JWK_LEN, &pay) ||
	    cf_json_get_str(b, "signature", 128, &sig) ||
	    cf_b64url_decode(prot, strlen(prot), hbuf, sizeof(hbuf) - 1, &hlen) ||
	    cf_b64url_decode(pay, strlen(pay), pbuf, sizeof(pbuf) - 1, &plen) ||
	    cf_b64url_decode(sig, strlen(sig), out->mac, sizeof(out->mac), &out->mac_len) ||
	    cf_json_parse((const char *)hbuf, hlen, &h) || !cf_json_is_object(h)) {
		what = "externalAccountBinding must be a flattened JWS";
		goto out;
	}
	if (cf_json_get_str(h, "alg", 16, &alg) || strcmp(alg, "HS256") != 0) {
		what = "externalAccountBinding must be signed with HS256";
		ret = CF_EBADALG;
		goto out;
	}
	/* the reference number, with or without the dashes it is shown with */
	if (cf_json_get_str(h, "kid", 2 * STORE_REF_LEN, &kid) ||
	    strspn(kid, "0123456789-") != strlen(kid)) {
		what = "the binding's key id must be the reference number of the enrolment code";
		goto out;
	}
	for (size_t i = 0, k = 0; kid[i]; i++)
		if (kid[i] != '-' && k + 1 < sizeof(out->kid))
			out->kid[k++] = kid[i];
	if (strlen(out->kid) != 12) {
		what = "the binding's key id must be the reference number of the enrolment code";
		goto out;
	}
	if (cf_json_get(h, "nonce")) {
		what = "the binding must not carry a nonce";
		goto out;
	}
	if (cf_json_get_str(h, "url", CF_JWS_MAX_URL, &url) || strcmp(url, req->jws->url) != 0) {
		what = "the binding's url must be the newAccount url";
		goto out;
	}
	if (cf_json_parse((const char *)pbuf, plen, &jwk) || cf_key_from_jwk(jwk, &key) ||
	    !cf_key_public_equal(key, req->jws->jwk)) {
		what = "the binding's payload must be the account key of the request";
		goto out;
	}
	out->input_len = strlen(prot) + 1 + strlen(pay);
	out->input = malloc(out->input_len + 1);
	if (!out->input) {
		ret = CF_ENOMEM;
		goto out;
	}
	snprintf(out->input, out->input_len + 1, "%s.%s", prot, pay);
	ret = 0;
out:
	if (what)
		snprintf(resp->detail, sizeof(resp->detail), "%s", what);
	cf_json_free(h);
	cf_json_free(jwk);
	cf_key_free(key);
	return ret;
}

static const char *bind_detail(int ret)
{
	switch (ret) {
	case CF_EBADCODE:
		return "the external account binding does not verify: check the key id and the "
		       "HMAC key the operator gave you";
	case CF_ELOCKED:
		return "this enrolment code is locked after too many wrong tries: ask the operator "
		       "for a new one";
	case CF_EUSED:
		return "this enrolment code has been used already: ask the operator for a new one";
	case CF_EEXPIRED:
		return "this enrolment code has expired: ask the operator for a new one";
	case CF_ECANCELLED:
		return "this enrolment code was cancelled: ask the operator for a new one";
	case CF_EUNAUTHORIZED:
		return "this enrolment code has no ACME key: ask the operator for an ACME "
		       "enrolment code";
	case CF_EDEACTIVATED:
		return "the account of this key is deactivated";
	default:
		return "";
	}
}

int api_acme_new_account(const struct http_req *req, struct http_resp *resp)
{
	const cf_json *p = req->payload, *b;
	struct store_account a;
	struct eab eab;
	struct core_who who;
	char thumb[44], actor[API_WHO_LEN], *jwk_text = NULL;
	char contact[CONTACT_LEN];
	int only = 0, created = 0, given = 0, ret;

	if (!p) {
		snprintf(resp->detail, sizeof(resp->detail), "newAccount needs a payload");
		return CF_EMALFORMED;
	}
	if (cf_json_get(p, "onlyReturnExisting") &&
	    cf_json_get_bool(p, "onlyReturnExisting", &only) != 0)
		return CF_EMALFORMED;
	if ((ret = read_contact(p, contact, &given, resp)) != 0)
		return ret;
	ret = cf_key_thumbprint(req->jws->jwk, thumb);
	if (ret == 0)
		ret = core_account_by_thumbprint(req->core, thumb, &a);
	if (ret == 0) {
		if (a.status != ACCOUNT_VALID) {
			snprintf(resp->detail, sizeof(resp->detail), "%s",
				 bind_detail(CF_EDEACTIVATED));
			return CF_EUNAUTHORIZED;
		}
		return answer_account(req, &a, 200, resp);
	}
	if (ret != CF_ENOTFOUND)
		return ret;
	if (only) {
		snprintf(resp->detail, sizeof(resp->detail), "no account has this key");
		return CF_ENOACCOUNT;
	}
	b = cf_json_get(p, "externalAccountBinding");
	if (!b) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "a new account needs the key id and HMAC key of an enrolment code "
			 "(externalAccountBinding): ask the operator for one");
		return CF_EEABREQUIRED;
	}
	memset(&eab, 0, sizeof(eab));
	ret = eab_decode(req, b, &eab, resp);
	if (ret == 0)
		ret = (jwk_text = cf_json_print(req->jws->jwk_json)) ? 0 : CF_ENOMEM;
	if (ret == 0) {
		api_who(req, &who, actor);
		/* the binding is an activation: the same limits per address and per reference */
		ret =
		    api_rate(resp, req->core, &who, RATE_ACTIVATE_ADDR, RATE_ACTIVATE_REF, eab.kid);
	}
	if (ret == 0) {
		ret = core_acme_bind(req->core, &who, req->jws->jwk, jwk_text, eab.kid, eab.input,
				     eab.input_len, eab.mac, eab.mac_len, contact, &a, &created);
		if (ret != 0 && bind_detail(ret)[0])
			snprintf(resp->detail, sizeof(resp->detail), "%s", bind_detail(ret));
		if (ret == CF_ECONFLICT)
			snprintf(resp->detail, sizeof(resp->detail),
				 "this key's account has a certificate of its own already");
	}
	if (ret == 0)
		ret = answer_account(req, &a, 201, resp);
	free(jwk_text);
	free(eab.input);
	cf_zeroize(&eab, sizeof(eab));
	return ret;
}

int api_acme_account(const struct http_req *req, struct http_resp *resp)
{
	struct store_account a;
	struct core_who who;
	char actor[API_WHO_LEN], contact[CONTACT_LEN];
	int ret, given = 0;

	if (strcmp(req->param, req->account->id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "an account can only read itself");
		return CF_EUNAUTHORIZED;
	}
	if (req->payload && (ret = read_contact(req->payload, contact, &given, resp)) != 0)
		return ret;
	/* an update of the contacts (RFC 8555 §7.3.2); a deactivation ignores them */
	if (given && !cf_json_get(req->payload, "status")) {
		api_who(req, &who, actor);
		ret = core_account_contact_set(req->core, &who, req->account->id, contact, &a);
		return ret ? ret : answer_account(req, &a, 200, resp);
	}
	ret = api_account_update(req, resp, &a);
	return ret ? ret : answer_account(req, &a, 200, resp);
}

/* ---- orders ------------------------------------------------------------------------------ */

/* 1 if every authorization of o is valid. */
static int all_proved(const struct core_acme_order *o)
{
	for (int i = 0; o->names[i]; i++)
		if (!(o->proved & (1u << i)))
			return 0;
	return 1;
}

static const char *order_status(const struct core_acme_order *o)
{
	if (o->valid)
		return "valid";
	if (o->invalid || cf_now() >= o->expires_at)
		return "invalid";
	return all_proved(o) ? "ready" : "pending";
}

/* The status of authorization index of o. */
static const char *authz_status(const struct core_acme_order *o, int index)
{
	if (o->proved & (1u << index))
		return "valid";
	return o->invalid || cf_now() >= o->expires_at ? "invalid" : "pending";
}

static int order_json(const struct http_req *req, const struct core_acme_order *o, cf_json **out)
{
	cf_json *doc = cf_json_new_object(), *ids = cf_json_new_array(),
		*authz = cf_json_new_array();
	char id[STORE_ID_LEN + 8], url[HTTP_MAX_URL + 128];
	int ret = !doc || !ids || !authz, i;
	const char *status = order_status(o);

	for (i = 0; !ret && o->names[i]; i++) {
		cf_json *ident = cf_json_new_object();

		ret |= !ident || cf_json_add_str(ident, "type", "dns") ||
		       cf_json_add_str(ident, "value", o->names[i]);
		if (ret || cf_json_push(ids, ident) != 0) {
			cf_json_free(ident);
			ret = 1;
			break;
		}
		snprintf(id, sizeof(id), "%s-%d", o->id, i);
		acme_url(req, "authz", id, url, sizeof(url));
		ret |= cf_json_push_str(authz, url);
	}
	if (!ret) {
		ret |= cf_json_add_str(doc, "status", status);
		ret |= api_add_time(doc, "expires", o->expires_at);
		ret |= cf_json_add(doc, "identifiers", ids);
		ids = NULL;
		ret |= cf_json_add(doc, "authorizations", authz);
		authz = NULL;
		ret |= add_url(doc, req, "finalize", "finalize", o->id);
		if (o->valid)
			ret |= add_url(doc, req, "certificate", "cert", o->serial);
	}
	cf_json_free(ids);
	cf_json_free(authz);
	if (ret) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	*out = doc;
	return 0;
}

static int answer_order(const struct http_req *req, const struct core_acme_order *o, int status,
			struct http_resp *resp)
{
	cf_json *doc = NULL;
	int ret = order_json(req, o, &doc);

	if (ret != 0)
		return ret;
	acme_url(req, "order", o->id, resp->location, sizeof(resp->location));
	return http_resp_json(resp, status, doc);
}

static const char *credential_detail(int ret)
{
	switch (ret) {
	case CF_EREVOKED:
		return "the certificate of this account is revoked: ask the operator for a new "
		       "enrolment code";
	case CF_ESUSPENDED:
		return "the certificate of this account is suspended: ask the operator to "
		       "reinstate it";
	case CF_EUNAUTHORIZED:
		return "this account has no enrolment code bound to it";
	default:
		return "";
	}
}

int api_acme_new_order(const struct http_req *req, struct http_resp *resp)
{
	const cf_json *ids = req->payload ? cf_json_get(req->payload, "identifiers") : NULL;
	size_t n = cf_json_array_size(ids), i, k;
	const char *names[ACME_MAX_IDENTIFIERS], *type, *value, *replaces = NULL;
	char lower[ACME_MAX_IDENTIFIERS][STORE_NAME_LEN], serial[STORE_SERIAL_LEN] = "", bad[254];
	struct core_acme_order *o;
	int ret;

	if (!ids || !cf_json_is_array(ids) || n == 0 || n > ACME_MAX_IDENTIFIERS) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "identifiers must be a list of 1 to %d identifiers", ACME_MAX_IDENTIFIERS);
		return CF_EMALFORMED;
	}
	if (cf_json_get(req->payload, "notBefore") || cf_json_get(req->payload, "notAfter")) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "notBefore and notAfter are not supported: the profile sets the validity");
		return CF_EMALFORMED;
	}
	for (i = 0; i < n; i++) {
		const cf_json *id = cf_json_array_item(ids, i);

		if (!cf_json_is_object(id) || cf_json_get_str(id, "type", 16, &type) != 0 ||
		    cf_json_get_str(id, "value", STORE_NAME_LEN - 1, &value) != 0 || !value[0]) {
			snprintf(resp->detail, sizeof(resp->detail),
				 "identifier %zu must have a type and a value", i + 1);
			return CF_EMALFORMED;
		}
		if (strcmp(type, "dns") != 0) {
			snprintf(resp->detail, sizeof(resp->detail),
				 "only DNS names can be ordered here, not %.32s identifiers", type);
			return CF_EUNSUPPORTEDID;
		}
		for (k = 0; value[k]; k++)
			lower[i][k] =
			    (char)(value[k] >= 'A' && value[k] <= 'Z' ? value[k] + 32 : value[k]);
		lower[i][k] = '\0';
		names[i] = lower[i];
	}
	if (cf_json_get_str_opt(req->payload, "replaces", 200, &replaces) != 0 ||
	    (replaces && core_certid_serial(req->core, replaces, serial) != 0)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "replaces must be the ARI certificate id of a certificate of this CA");
		return CF_EMALFORMED;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return CF_ENOMEM;
	ret = core_acme_order_new(req->core, req->account->id, names, n, serial, o, bad);
	if (ret == CF_EREJECTEDID)
		snprintf(resp->detail, sizeof(resp->detail),
			 "%.160s is not a name of this account's enrolment code", bad);
	else if (ret == CF_ECONFLICT) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "replaces does not name this account's current certificate");
		ret = CF_EMALFORMED;
	} else if (credential_detail(ret)[0])
		snprintf(resp->detail, sizeof(resp->detail), "%s", credential_detail(ret));
	if (ret == 0)
		ret = answer_order(req, o, 201, resp);
	free(o);
	return ret;
}

static int get_order(const struct http_req *req, const char *id, struct core_acme_order *o,
		     struct http_resp *resp)
{
	int ret = core_acme_order_get(req->core, req->account->id, id, o);

	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such order of this account");
	return ret;
}

int api_acme_order(const struct http_req *req, struct http_resp *resp)
{
	struct core_acme_order *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return CF_ENOMEM;
	ret = get_order(req, req->param, o, resp);
	if (ret == 0)
		ret = answer_order(req, o, 200, resp);
	free(o);
	return ret;
}

/* The account's orders list (RFC 8555 §7.1.2.1): its orders neither invalid nor expired. */
int api_acme_orders(const struct http_req *req, struct http_resp *resp)
{
	char(*ids)[STORE_ID_LEN] = NULL;
	cf_json *doc = NULL, *list = NULL;
	size_t n = 0;
	int ret;

	if (strcmp(req->param, req->account->id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "these are not this account's orders");
		return CF_ENOTFOUND;
	}
	ids = calloc(CORE_ACME_ORDERS_MAX, sizeof(*ids));
	if (!ids)
		return CF_ENOMEM;
	ret = core_acme_order_list(req->core, req->account->id, ids, &n);
	if (ret == 0) {
		doc = cf_json_new_object();
		list = cf_json_new_array();
		ret = !doc || !list;
		for (size_t i = 0; !ret && i < n; i++) {
			char url[HTTP_MAX_URL + 128];

			acme_url(req, "order", ids[i], url, sizeof(url));
			ret = cf_json_push_str(list, url);
		}
		ret = ret || cf_json_add(doc, "orders", list);
		if (!ret)
			list = NULL;
		if (ret) {
			ret = CF_ENOMEM;
		} else {
			ret = http_resp_json(resp, 200, doc); /* takes doc */
			doc = NULL;
		}
	}
	cf_json_free(list);
	cf_json_free(doc);
	free(ids);
	return ret;
}

/* "<order id>-<index>" → the order and the index of its name. With type (a challenge's URL),
 * "-dns" may follow: the dns-01 challenge (*type CORE_ACME_DNS01); else *type is the code's http-01
 * challenge (CORE_ACME_HTTP01) or 0 for a pre-authorised order. A challenge the code does not
 * offer is not found. */
static int authz_of(const struct http_req *req, struct core_acme_order *o, int *index, int *type,
		    struct http_resp *resp)
{
	char param[STORE_ID_LEN + 8], id[STORE_ID_LEN];
	size_t len = strlen(req->param);
	const char *dash;
	int ret, n = 0, dns = 0;

	if (type && len > 4 && strcmp(req->param + len - 4, "-dns") == 0) {
		dns = 1;
		len -= 4;
	}
	snprintf(param, sizeof(param), "%.*s", (int)len, req->param);
	dash = strrchr(param, '-');
	if (len >= sizeof(param) - 1 || !dash || dash == param ||
	    (size_t)(dash - param) >= sizeof(id) || strlen(dash + 1) != 1 || dash[1] < '0' ||
	    dash[1] > '9') {
		snprintf(resp->detail, sizeof(resp->detail), "no such authorization");
		return CF_ENOTFOUND;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(dash - param), param);
	ret = get_order(req, id, o, resp);
	if (ret != 0)
		return ret;
	while (o->names[n])
		n++;
	*index = dash[1] - '0';
	if (type)
		*type = dns ? CORE_ACME_DNS01 : o->e.acme_validate ? CORE_ACME_HTTP01 : 0;
	if (*index >= n || (type && *type && !(o->e.acme_validate & *type))) {
		snprintf(resp->detail, sizeof(resp->detail), "no such authorization");
		return CF_ENOTFOUND;
	}
	return 0;
}

/* The challenge of type (CORE_ACME_*, 0: pre-authorised) of authorization index of o: of a
 * pre-authorised name, the enrolment code proved at newAccount; else http-01 or dns-01 with its
 * token, and the failure of a validation in "error". */
static cf_json *challenge_json(const struct http_req *req, const struct core_acme_order *o,
			       int index, int type, const char *error_type,
			       const char *error_detail)
{
	cf_json *ch = cf_json_new_object(), *err = NULL;
	const char *status = authz_status(o, index);
	char token[44], param[STORE_ID_LEN + 8];
	int ret = !ch;

	snprintf(param, sizeof(param), "%.31s-%d%s", o->id, index,
		 type == CORE_ACME_DNS01 ? "-dns" : "");
	if (!ret && !type) {
		ret |= cf_json_add_str(ch, "type", "certflow-enrolment-01");
		ret |= add_url(ch, req, "url", "chall", param);
		ret |= cf_json_add_str(ch, "status", "valid");
		ret |= api_add_time(ch, "validated", o->e.created_at);
	} else if (!ret) {
		/* the other challenge of a name proved stays pending (RFC 8555 §7.1.4) */
		if (strcmp(status, "valid") == 0 && core_acme_proved_by(o, index) != type)
			status = "pending";
		ret |= core_acme_token(req->core, o->id, index, type, token) != 0;
		ret |= cf_json_add_str(ch, "type", core_acme_validation_name(type));
		ret |= add_url(ch, req, "url", "chall", param);
		ret |= cf_json_add_str(ch, "token", token);
		ret |= cf_json_add_str(ch, "status", status);
		if (strcmp(status, "valid") == 0)
			ret |= api_add_time(ch, "validated", cf_now());
		if (error_type) {
			char etype[96];

			snprintf(etype, sizeof(etype), "urn:ietf:params:acme:error:%s", error_type);
			err = cf_json_new_object();
			ret |= !err || cf_json_add_str(err, "type", etype) ||
			       cf_json_add_str(err, "detail", error_detail) ||
			       cf_json_add_int(err, "status", 403);
			ret |= ret || cf_json_add(ch, "error", err);
			if (!ret)
				err = NULL;
		}
	}
	cf_json_free(err);
	if (ret) {
		cf_json_free(ch);
		return NULL;
	}
	return ch;
}

int api_acme_authz(const struct http_req *req, struct http_resp *resp)
{
	struct core_acme_order *o = calloc(1, sizeof(*o));
	cf_json *doc = NULL, *ident = NULL, *chs = NULL, *ch = NULL;
	int ret, index = 0;

	if (!o)
		return CF_ENOMEM;
	ret = authz_of(req, o, &index, NULL, resp);
	if (ret == 0 && req->payload && cf_json_get(req->payload, "status")) {
		/* deactivation (RFC 8555 §7.5.2) is not offered: the order simply expires */
		snprintf(resp->detail, sizeof(resp->detail),
			 "a pre-authorised authorization cannot be deactivated");
		ret = CF_EMALFORMED;
	}
	if (ret != 0)
		goto out;
	doc = cf_json_new_object();
	ident = cf_json_new_object();
	chs = cf_json_new_array();
	ret = !doc || !ident || !chs || cf_json_add_str(ident, "type", "dns") ||
	      cf_json_add_str(ident, "value", o->names[index]) ||
	      cf_json_add_str(doc, "status", authz_status(o, index)) ||
	      api_add_time(doc, "expires", o->expires_at);
	/* one challenge per way the code accepts, http-01 first; certflow-enrolment-01 if none */
	for (int type = CORE_ACME_HTTP01; !ret && type <= CORE_ACME_DNS01; type <<= 1) {
		if (o->e.acme_validate && !(o->e.acme_validate & type))
			continue;
		ch = challenge_json(req, o, index, o->e.acme_validate ? type : 0, NULL, NULL);
		ret = !ch || cf_json_push(chs, ch);
		if (!ret)
			ch = NULL;
		if (!o->e.acme_validate)
			break;
	}
	ret = ret || cf_json_add(doc, "identifier", ident);
	if (!ret)
		ident = NULL;
	ret = ret || cf_json_add(doc, "challenges", chs);
	if (!ret)
		chs = NULL;
	if (ret) {
		ret = CF_ENOMEM;
		goto out;
	}
	ret = http_resp_json(resp, 200, doc);
	doc = NULL;
out:
	cf_json_free(doc);
	cf_json_free(ident);
	cf_json_free(chs);
	cf_json_free(ch);
	free(o);
	return ret;
}

#define VALIDATION_TIMEOUT_MS 5000
#define VALIDATIONS_MAX 16 /* validations running at once, all accounts together */

/* Fetch the key authorization of http-01 (RFC 8555 §8.3) for authorization index of o: 1 if the
 * name answered it; else 0 with the ACME error type and a detail for the person. */
static int http01(const struct http_req *req, const struct core_acme_order *o, int index,
		  const char **type, char *detail, size_t cap)
{
	const struct core_config *cfg = &req->core->cfg;
	char token[44], path[128], want[112], body[256];
	int status = 0, ret;
	size_t n;

	if (core_acme_token(req->core, o->id, index, CORE_ACME_HTTP01, token) != 0)
		return *type = "serverInternal", snprintf(detail, cap, "internal error"), 0;
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", token);
	snprintf(want, sizeof(want), "%s.%s", token, req->account->thumbprint);
	ret = http_fetch(o->names[index], cfg->acme_validation_address, cfg->acme_http01_port, path,
			 VALIDATION_TIMEOUT_MS, body, sizeof(body), &status);
	*type = "connection";
	if (ret == CF_ETIMEOUT)
		snprintf(detail, cap, "%.100s did not answer within 5 seconds on port %d",
			 o->names[index], cfg->acme_http01_port);
	else if (ret != 0)
		snprintf(detail, cap, "could not connect to %.100s on port %d", o->names[index],
			 cfg->acme_http01_port);
	if (ret != 0)
		return 0;
	n = strlen(body);
	while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' '))
		body[--n] = '\0';
	*type = "incorrectResponse";
	if (status != 200) {
		snprintf(detail, cap, "%.100s answered HTTP %d for the challenge file",
			 o->names[index], status);
		return 0;
	}
	if (strcmp(body, want) != 0) {
		snprintf(detail, cap, "%.100s answered something else than the key authorization",
			 o->names[index]);
		return 0;
	}
	snprintf(detail, cap, "%.100s answered the key authorization", o->names[index]);
	return 1;
}

/* Look up the TXT records of _acme-challenge.NAME (RFC 8555 §8.4) for authorization index of o:
 * 1 if one of them is base64url(SHA-256(key authorization)); else 0 with the ACME error type and
 * a detail for the person. */
static int dns01(const struct http_req *req, const struct core_acme_order *o, int index,
		 const char **type, char *detail, size_t cap)
{
	char token[44], keyauth[112], want[44], qname[272], (*vals)[HTTP_TXT_LEN];
	uint8_t digest[32];
	int n = 0, ret, found = 0;

	if (core_acme_token(req->core, o->id, index, CORE_ACME_DNS01, token) != 0)
		return *type = "serverInternal", snprintf(detail, cap, "internal error"), 0;
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, req->account->thumbprint);
	if (cf_sha256(keyauth, strlen(keyauth), digest) != 0 ||
	    cf_b64url_encode(digest, sizeof(digest), want, sizeof(want), NULL) != 0)
		return *type = "serverInternal", snprintf(detail, cap, "internal error"), 0;
	snprintf(qname, sizeof(qname), "_acme-challenge.%s", o->names[index]);
	vals = calloc(8, sizeof(*vals));
	if (!vals)
		return *type = "serverInternal", snprintf(detail, cap, "out of memory"), 0;
	ret = http_dns_txt(qname, req->core->cfg.acme_dns_resolver, VALIDATION_TIMEOUT_MS, vals, 8,
			   &n);
	for (int i = 0; i < n && !found; i++)
		found = strcmp(vals[i], want) == 0;
	free(vals);
	*type =
	    ret == CF_ETIMEOUT || ret == CF_EIO || ret == CF_EPROTO ? "dns" : "incorrectResponse";
	if (ret == CF_ETIMEOUT)
		snprintf(detail, cap, "no DNS answer for %.100s within 5 seconds", qname);
	else if (ret == CF_ENOTFOUND || (ret == 0 && n == 0))
		snprintf(detail, cap, "%.100s has no TXT record", qname);
	else if (ret != 0)
		snprintf(detail, cap, "the DNS lookup of %.100s failed", qname);
	else if (!found)
		snprintf(detail, cap,
			 "no TXT record of %.100s holds the key authorization's digest", qname);
	else
		snprintf(detail, cap, "%.100s holds the key authorization's digest", qname);
	return ret == 0 && found;
}

static atomic_int validations;

int api_acme_challenge(const struct http_req *req, struct http_resp *resp)
{
	struct core_acme_order *o = calloc(1, sizeof(*o));
	const char *etype = NULL;
	char detail[160] = "", actor[API_WHO_LEN];
	struct core_who who;
	cf_json *ch = NULL;
	int ret, index = 0, type = 0, ok;

	if (!o)
		return CF_ENOMEM;
	ret = authz_of(req, o, &index, &type, resp);
	/* a POST with a payload ({}) asks for the validation (RFC 8555 §7.5.1); POST-as-GET reads
	 */
	if (ret == 0 && req->payload && type && strcmp(authz_status(o, index), "pending") == 0) {
		char id[STORE_ID_LEN];

		if (atomic_fetch_add(&validations, 1) >= VALIDATIONS_MAX) {
			atomic_fetch_sub(&validations, 1);
			snprintf(resp->detail, sizeof(resp->detail),
				 "too many names are being checked at this moment: try again in a "
				 "few seconds");
			resp->retry_after = 2;
			free(o);
			return CF_ERATELIMIT;
		}
		ok = type == CORE_ACME_DNS01
			 ? dns01(req, o, index, &etype, detail, sizeof(detail))
			 : http01(req, o, index, &etype, detail, sizeof(detail));
		atomic_fetch_sub(&validations, 1);
		api_who(req, &who, actor);
		snprintf(id, sizeof(id), "%s", o->id); /* o is rewritten with the outcome */
		ret = core_acme_validated(req->core, &who, req->account->id, id, index, type, ok,
					  detail, o);
		if (ret == CF_EORDERNOTREADY)
			snprintf(resp->detail, sizeof(resp->detail),
				 "this order is no longer pending: make a new order");
		if (ok)
			etype = NULL;
	}
	if (ret == 0) {
		char authz[STORE_ID_LEN + 4];

		snprintf(authz, sizeof(authz), "%.31s-%d", o->id, index);
		acme_url(req, "authz", authz, resp->link_up, sizeof(resp->link_up));
		ch = challenge_json(req, o, index, type, etype, detail);
		ret = ch ? http_resp_json(resp, 200, ch) : CF_ENOMEM;
	}
	free(o);
	return ret;
}

int api_acme_finalize(const struct http_req *req, struct http_resp *resp)
{
	struct core_acme_order *o;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *csr_b64;
	uint8_t csr[8192];
	size_t csr_len = 0;
	int ret;

	if (!req->payload || cf_json_get_str(req->payload, "csr", 2 * sizeof(csr), &csr_b64) != 0 ||
	    cf_b64url_decode(csr_b64, strlen(csr_b64), csr, sizeof(csr), &csr_len) != 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "csr must be a base64url DER certificate signing request");
		return CF_EMALFORMED;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_acme_finalize(req->core, &who, req->account->id, req->param, csr, csr_len, o);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such order of this account");
	else if (ret == CF_EBADCSR)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the CSR must be signed by its key and ask for exactly the order's names");
	else if (ret == CF_EORDERNOTREADY)
		snprintf(resp->detail, sizeof(resp->detail),
			 "this order is finalized already or has expired: make a new order");
	else if (credential_detail(ret)[0])
		snprintf(resp->detail, sizeof(resp->detail), "%s", credential_detail(ret));
	if (ret == 0)
		ret = answer_order(req, o, 200, resp);
	free(o);
	return ret;
}

/* ---- certificates ------------------------------------------------------------------------ */

/* The certificate of serial, if it belongs to account_id's credentials. */
static int own_cert(const struct http_req *req, const char *serial, struct store_cert *cert)
{
	struct store_credential cr;
	int ret = core_cert_get(req->core, serial, cert);

	if (ret == 0)
		ret = core_credential_get(req->core, cert->credential_id, &cr);
	if (ret == 0 && strcmp(cr.account_id, req->account->id) != 0)
		ret = CF_ENOTFOUND;
	return ret;
}

int api_acme_cert(const struct http_req *req, struct http_resp *resp)
{
	struct store_cert *cert = malloc(sizeof(*cert));
	const char *chain = ca_chain_pem(req->core->ca);
	char *pem = NULL;
	int ret;

	if (!cert)
		return CF_ENOMEM;
	ret =
	    strlen(req->param) < STORE_SERIAL_LEN ? own_cert(req, req->param, cert) : CF_ENOTFOUND;
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such certificate of this account");
	if (ret == 0 && !(pem = cf_pem_encode("CERTIFICATE", cert->der, cert->der_len)))
		ret = CF_ENOMEM;
	if (ret == 0) {
		size_t a = strlen(pem), b = strlen(chain);

		resp->body = malloc(a + b + 1);
		if (!resp->body) {
			ret = CF_ENOMEM;
		} else {
			memcpy(resp->body, pem, a);
			memcpy(resp->body + a, chain, b + 1);
			resp->body_len = a + b;
			resp->content_type = "application/pem-certificate-chain";
			resp->status = 200;
		}
	}
	free(pem);
	free(cert);
	return ret;
}

int api_acme_revoke(const struct http_req *req, struct http_resp *resp)
{
	const char *b64;
	int64_t reason = 0;
	uint8_t *der = NULL, *spki = NULL;
	size_t len = 0, spki_len = 0;
	char serial[STORE_SERIAL_LEN], actor[API_WHO_LEN];
	struct store_cert *cert = NULL, out;
	struct core_who who;
	int ret = CF_EMALFORMED;

	if (!req->payload ||
	    cf_json_get_str(req->payload, "certificate", 2 * STORE_DER_MAX, &b64) != 0 ||
	    !(der = malloc(STORE_DER_MAX)) ||
	    cf_b64url_decode(b64, strlen(b64), der, STORE_DER_MAX, &len) != 0 ||
	    ca_cert_serial(der, len, serial) != 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "certificate must be a base64url DER certificate");
		goto out;
	}
	if (cf_json_get(req->payload, "reason") &&
	    cf_json_get_int(req->payload, "reason", 0, 10, &reason) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "reason must be a number 0 to 10");
		ret = CF_EBADREASON;
		goto out;
	}
	cert = malloc(sizeof(*cert));
	if (!cert) {
		ret = CF_ENOMEM;
		goto out;
	}
	ret = core_cert_get(req->core, serial, cert);
	if (ret == 0 && (cert->der_len != len || memcmp(cert->der, der, len) != 0))
		ret = CF_ENOTFOUND;
	if (ret == CF_ENOTFOUND) {
		snprintf(resp->detail, sizeof(resp->detail), "not a certificate of this CA");
		ret = CF_EUNAUTHORIZED;
	}
	if (ret != 0)
		goto out;
	/* by the account that holds it, or by the certificate's own key (RFC 8555 §7.6) */
	if (req->account) {
		ret = own_cert(req, serial, cert);
	} else {
		ret = cf_key_spki_der(req->jws->jwk, &spki, &spki_len);
		if (ret == 0 && !memmem(cert->der, cert->der_len, spki, spki_len))
			ret = CF_ENOTFOUND;
	}
	if (ret == CF_ENOTFOUND) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "neither this account nor this key may revoke the certificate");
		ret = CF_EUNAUTHORIZED;
	}
	if (ret != 0)
		goto out;
	api_who(req, &who, actor);
	ret = core_revoke(req->core, &who, serial, (int)reason, &out);
	if (ret == CF_EALREADY)
		snprintf(resp->detail, sizeof(resp->detail), "the certificate is revoked already");
	else if (ret == CF_EBADREASON)
		snprintf(resp->detail, sizeof(resp->detail),
			 "reason %d cannot be used here (RFC 5280 reasons 0-5, 9, 10)",
			 (int)reason);
	if (ret == 0)
		resp->status = 200;
out:
	free(der);
	free(spki);
	free(cert);
	return ret;
}
