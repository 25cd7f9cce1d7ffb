/*
 * csc — the Cloud Signature Consortium API v2 subset (spec/protocol.md §25): /csc/v2/info
 * (public), credentials/list, credentials/info, credentials/sendOTP, credentials/authorize and
 * signatures/signHash (bearer session). Member names are the CSC API's; binary values are
 * standard base64. Every problem also carries the CSC members "error" and "error_description".
 * PINs, OTPs and SADs stay in the request's JSON tree (wiped by http) or in wiped buffers and
 * never reach a detail, a log or the audit trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_b64.h"
#include "cf_err.h"
#include "custody.h"
#include "proof.h"

#define CSC_SPECS "2.0.0.2"
#define CSC_LANG "en"
#define MAX_ID 64
#define MAX_OID 64
#define MAX_SAD 128
#define MAX_SECRET 64
#define MAX_HASH_B64 88 /* a SHA-512 hash: 64 octets = 88 characters */

static const char *const csc_methods[] = {
    "credentials/list",	   "credentials/info",	  "credentials/authorize",
    "credentials/sendOTP", "signatures/signHash", NULL,
};

/* The OAuth 2.0 error code of a problem (RFC 6749 §5.2, RFC 6750 §3.1), as the CSC API uses
 * them. */
static const char *csc_error(int code)
{
	switch (code) {
	case CF_EBADSAD:
	case CF_EBADPIN:
	case CF_EBADOTP:
		return "invalid_grant";
	case CF_ESESSION:
		return "invalid_token";
	case CF_EPINBLOCKED:
	case CF_EPROOFLOCKED:
	case CF_EREVOKED:
	case CF_ESUSPENDED:
	case CF_EINACTIVE:
	case CF_ECONFLICT:
	case CF_EPWCHANGE:
	case CF_EUNAUTHORIZED:
		return "access_denied";
	default:
		return cf_err_status(code) >= 500 || cf_err_status(code) <= 0 ? "server_error"
									      : "invalid_request";
	}
}

/* Every CSC answer goes through here: a problem gets "error" and "error_description" next to
 * its members (resp->extra, where api_problem_attempts put attemptsLeft). */
static int csc_answer(struct http_resp *resp, int ret)
{
	if (ret == 0)
		return 0;
	if (!resp->extra)
		resp->extra = cf_json_new_object();
	if (!resp->extra || cf_json_add_str(resp->extra, "error", csc_error(ret)) != 0 ||
	    cf_json_add_str(resp->extra, "error_description",
			    resp->detail[0] ? resp->detail : cf_strerror(ret)) != 0)
		return CF_ENOMEM;
	return ret;
}

static int bad(struct http_resp *resp, const char *detail)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
	return CF_EMALFORMED;
}

/* An optional boolean member (absent = dflt). */
static int opt_bool(const cf_json *p, const char *key, int dflt, int *out)
{
	if (!p || !cf_json_get(p, key)) {
		*out = dflt;
		return 0;
	}
	return cf_json_get_bool(p, key, out);
}

static int push_all(cf_json *arr, const char *const *items)
{
	int ret = 0;

	while (*items && ret == 0)
		ret = cf_json_push_str(arr, *items++);
	return ret;
}

/* ---- POST/GET /csc/v2/info ---------------------------------------------------------------- */

int api_csc_info(const struct http_req *req, struct http_resp *resp)
{
	static const char *const algos[] = {
	    "1.2.840.10045.4.3.2",   "1.2.840.10045.4.3.3",   "1.2.840.10045.4.3.4",
	    "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13",
	    "1.2.840.10045.2.1",     "1.2.840.113549.1.1.1",  NULL,
	};
	static const char *const auth_types[] = {"external", NULL};
	cf_json *o = cf_json_new_object(), *m = cf_json_new_array(), *at = cf_json_new_array();
	cf_json *sa = cf_json_new_object(), *sal = cf_json_new_array();
	int ret = o && m && at && sa && sal ? 0 : CF_ENOMEM;

	(void)req;
	ret |= push_all(m, csc_methods) | push_all(at, auth_types) | push_all(sal, algos);
	ret |= cf_json_add_str(o, "specs", CSC_SPECS);
	ret |= cf_json_add_str(o, "name", "certflow");
	/* a logo is required: a one-pixel SVG rather than a URL that serves nothing */
	ret |= cf_json_add_str(o, "logo",
			       "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'"
			       "%20width='1'%20height='1'/%3E");
	ret |= cf_json_add_str(o, "region", "EU");
	ret |= cf_json_add_str(o, "lang", CSC_LANG);
	ret |= cf_json_add_str(o, "description",
			       "certflow remote signing: CSC API v2 subset (signHash, SCAL2)");
	ret |= cf_json_add(o, "authType", at);
	ret |= cf_json_add(o, "methods", m);
	ret |= cf_json_add(sa, "algos", sal);
	ret |= cf_json_add(o, "signAlgorithms", sa);
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

/* ---- credentials/list and credentials/info ----------------------------------------------- */

struct info_opts {
	const char *certificates; /* "none", "single", "chain" */
	int cert_info, auth_info;
};

static int info_opts_decode(const cf_json *p, struct http_resp *resp, struct info_opts *o)
{
	o->certificates = "single";
	if (p && cf_json_get_str_opt(p, "certificates", 16, &o->certificates) != 0)
		return bad(resp, "certificates must be \"none\", \"single\" or \"chain\"");
	if (!o->certificates)
		o->certificates = "single";
	if (strcmp(o->certificates, "none") != 0 && strcmp(o->certificates, "single") != 0 &&
	    strcmp(o->certificates, "chain") != 0)
		return bad(resp, "certificates must be \"none\", \"single\" or \"chain\"");
	if (opt_bool(p, "certInfo", 0, &o->cert_info) != 0 ||
	    opt_bool(p, "authInfo", 0, &o->auth_info) != 0)
		return bad(resp, "certInfo and authInfo are booleans");
	return 0;
}

/* Key type and size of the portal's key algorithm name ("p256", "rsa2048", ...). */
static void key_of(const struct core_portal_cred *pc, int *type, unsigned *bits)
{
	*type = 0;
	*bits = 0;
	if (strcmp(pc->key_algorithm, "p256") == 0) {
		*type = CF_KEY_P256;
		*bits = 256;
	} else if (strcmp(pc->key_algorithm, "p384") == 0) {
		*type = CF_KEY_P384;
		*bits = 384;
	} else if (strncmp(pc->key_algorithm, "rsa", 3) == 0) {
		*type = CF_KEY_RSA;
		*bits = (unsigned)strtoul(pc->key_algorithm + 3, NULL, 10);
	}
}

/* The key signs now: an active credential with a valid certificate and an unblocked PIN. */
static int key_enabled(const struct core_portal_cred *pc, int64_t now)
{
	return pc->has_custody && !pc->pin_blocked && pc->has_cert &&
	       strcmp(pc->status, "active") == 0 &&
	       strcmp(core_cert_status(&pc->cert, now), "valid") == 0;
}

static void generalized_time(int64_t t, char out[16])
{
	char s[21];
	size_t i, n = 0;

	cf_time_format(t, s); /* YYYY-MM-DDTHH:MM:SSZ → YYYYMMDDHHMMSSZ */
	for (i = 0; s[i] && n < 15; i++)
		if (s[i] != '-' && s[i] != ':' && s[i] != 'T')
			out[n++] = s[i];
	out[n] = '\0';
}

/* The base64 bodies of a PEM chain (issuing CA, root) pushed onto arr. */
static int push_pem_chain(cf_json *arr, const char *pem)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = pem, *e;
	char *b64;
	size_t n;
	int ret = 0;

	while (ret == 0 && (p = strstr(p, begin)) != NULL) {
		p += sizeof(begin) - 1;
		e = strstr(p, end);
		if (!e)
			return CF_EINTERNAL;
		b64 = malloc((size_t)(e - p) + 1);
		if (!b64)
			return CF_ENOMEM;
		for (n = 0; p < e; p++)
			if (*p != '\n' && *p != '\r')
				b64[n++] = *p;
		b64[n] = '\0';
		ret = cf_json_push_str(arr, b64);
		free(b64);
	}
	return ret;
}

static int cert_json(const struct http_req *req, const struct core_portal_cred *pc,
		     const struct info_opts *o, int64_t now, cf_json **out)
{
	cf_json *c = cf_json_new_object(), *arr = NULL;
	char subject[256], issuer[256], from[16], to[16], *b64 = NULL;
	int ret = c ? 0 : CF_ENOMEM;

	ret |= cf_json_add_str(c, "status", core_cert_status(&pc->cert, now));
	if (ret == 0 && strcmp(o->certificates, "none") != 0) {
		arr = cf_json_new_array();
		b64 = cf_b64_encode_alloc(pc->cert.der, pc->cert.der_len);
		ret = arr && b64 ? cf_json_push_str(arr, b64) : CF_ENOMEM;
		if (ret == 0 && strcmp(o->certificates, "chain") == 0)
			ret = push_pem_chain(arr, ca_chain_pem(req->core->ca));
		ret |= cf_json_add(c, "certificates", arr);
	}
	if (ret == 0 && o->cert_info) {
		ret = ca_cert_names(pc->cert.der, pc->cert.der_len, subject, sizeof(subject),
				    issuer, sizeof(issuer));
		generalized_time(pc->cert.not_before, from);
		generalized_time(pc->cert.not_after, to);
		ret |= cf_json_add_str(c, "issuerDN", issuer);
		ret |= cf_json_add_str(c, "serialNumber", pc->cert.serial);
		ret |= cf_json_add_str(c, "subjectDN", subject);
		ret |= cf_json_add_str(c, "validFrom", from);
		ret |= cf_json_add_str(c, "validTo", to);
	}
	free(b64);
	if (ret != 0) {
		cf_json_free(c);
		return CF_ENOMEM;
	}
	*out = c;
	return 0;
}

/* Add the string members of kv (key, value pairs, NULL-terminated) to o. */
static int add_strs(cf_json *o, const char *const *kv)
{
	int ret = 0;

	for (; kv[0] && ret == 0; kv += 2)
		ret = cf_json_add_str(o, kv[0], kv[1]);
	return ret;
}

/* PIN and OTP as CSC v1 names them (PIN, OTP objects) and as v2 does (auth.objects). */
static int auth_json(const struct core_portal_status *st, cf_json *o, int auth_info)
{
	const char *gen = st->otp == CORE_OTP_TOTP ? "totp" : "sms";
	const char *otp_desc = st->otp == CORE_OTP_TOTP
				   ? "the current code of your authenticator app"
				   : "the code sent by SMS (credentials/sendOTP)";
	const char *const pin_desc = "the 8-digit signing PIN";
	const char *const v2_pin[] = {"type",  "Password", "id",	  "PIN",    "format", "N",
				      "label", "PIN",	   "description", pin_desc, NULL};
	/* generator names a client-side algorithm (CSC v2 §8.3.1.2): "totp", none for an SMS */
	const char *const gen_key = st->otp == CORE_OTP_TOTP ? "generator" : NULL;
	const char *const v2_otp[] = {"type",  "Password", "id",  "OTP",	 "format",
				      "N",     "label",	   "OTP", "description", otp_desc,
				      gen_key, "totp",	   NULL};
	const char *const v1_pin[] = {"presence", "true",	 "format", "N", "label",
				      "PIN",	  "description", pin_desc, NULL};
	const char *const v1_otp[] = {"presence", "true",  "type",     "online",      "format",
				      "N",	  "label", "OTP",      "description", otp_desc,
				      "ID",	  gen,	   "provider", "certflow",    NULL};
	cf_json *auth = cf_json_new_object(), *objs = cf_json_new_array();
	cf_json *pin = cf_json_new_object(), *otp = cf_json_new_object();
	cf_json *apin = cf_json_new_object(), *aotp = cf_json_new_object();
	int ret = auth && objs && pin && otp && apin && aotp ? 0 : CF_ENOMEM;

	ret |= cf_json_add_str(o, "authMode", "explicit");
	ret |= cf_json_add_str(auth, "mode", "explicit");
	if (ret == 0 && auth_info) {
		ret |= cf_json_add_str(auth, "expression", "PIN AND OTP");
		ret |= add_strs(apin, v2_pin) | add_strs(aotp, v2_otp);
		ret |= cf_json_push(objs, apin) | cf_json_push(objs, aotp);
		apin = aotp = NULL;
		ret |= cf_json_add(auth, "objects", objs);
		objs = NULL;
		ret |= add_strs(pin, v1_pin) | add_strs(otp, v1_otp);
		ret |= cf_json_add(o, "PIN", pin) | cf_json_add(o, "OTP", otp);
		pin = otp = NULL;
	}
	ret |= cf_json_add(o, "auth", auth);
	cf_json_free(objs);
	cf_json_free(pin);
	cf_json_free(otp);
	cf_json_free(apin);
	cf_json_free(aotp);
	return ret != 0 ? CF_ENOMEM : 0;
}

/* The credentials/info object of pc (with credentialID when listing). */
static int info_json(const struct http_req *req, const struct core_portal_status *st,
		     const struct core_portal_cred *pc, const struct info_opts *o, int with_id,
		     cf_json **out)
{
	cf_json *doc = cf_json_new_object(), *key = cf_json_new_object(), *algo = NULL;
	cf_json *cert = NULL;
	const char *curve;
	unsigned bits;
	int type, ret = doc && key ? 0 : CF_ENOMEM;

	key_of(pc, &type, &bits);
	if (ret == 0 && with_id)
		ret = cf_json_add_str(doc, "credentialID", pc->cr.id);
	ret |= cf_json_add_str(key, "status", key_enabled(pc, st->now) ? "enabled" : "disabled");
	if (ret == 0 && type != 0) {
		algo = cf_json_new_array();
		ret = algo ? push_all(algo, core_csc_key_algos(type)) : CF_ENOMEM;
		ret |= cf_json_add(key, "algo", algo);
		ret |= cf_json_add_int(key, "len", bits);
		curve = core_csc_key_curve(type);
		if (curve)
			ret |= cf_json_add_str(key, "curve", curve);
	}
	ret |= cf_json_add(doc, "key", key);
	key = NULL;
	if (ret == 0 && pc->has_cert) {
		ret = cert_json(req, pc, o, st->now, &cert);
		if (ret == 0)
			ret = cf_json_add(doc, "cert", cert);
	}
	if (ret == 0)
		ret = auth_json(st, doc, o->auth_info);
	ret |= cf_json_add_str(doc, "SCAL", "2");
	ret |= cf_json_add_int(doc, "multisign", CUSTODY_SIGN_BATCH_MAX);
	ret |= cf_json_add_str(doc, "lang", CSC_LANG);
	if (ret != 0) {
		cf_json_free(key);
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	*out = doc;
	return 0;
}

/* The session and the portal's view of its subject. */
static int csc_status(const struct http_req *req, struct http_resp *resp, struct core_session *s,
		      struct core_portal_status *st)
{
	int ret = api_session(req, resp, 0, s);

	if (ret == 0) {
		memset(st, 0, sizeof(*st));
		ret = core_portal_status(req->core, s, st);
	}
	return ret;
}

int api_csc_credentials_list(const struct http_req *req, struct http_resp *resp)
{
	struct core_portal_status st = {0};
	struct core_session s;
	struct info_opts o;
	const char *user = NULL;
	cf_json *doc = NULL, *ids = NULL, *infos = NULL, *one;
	int ret, with_info = 0, only_valid = 0;
	size_t i;

	ret = csc_status(req, resp, &s, &st);
	if (ret != 0)
		return csc_answer(resp, ret);
	if ((ret = info_opts_decode(req->payload, resp, &o)) != 0)
		goto out;
	if (opt_bool(req->payload, "credentialInfo", 0, &with_info) != 0 ||
	    opt_bool(req->payload, "onlyValid", 0, &only_valid) != 0) {
		ret = bad(resp, "credentialInfo and onlyValid are booleans");
		goto out;
	}
	if (req->payload && cf_json_get_str_opt(req->payload, "userID", MAX_ID, &user) != 0) {
		ret = bad(resp, "userID must be a string");
		goto out;
	}
	if (user && strcmp(user, s.user_id) != 0) {
		ret = bad(resp, "userID must be the session's user id (or absent)");
		goto out;
	}
	ret = CF_ENOMEM;
	doc = cf_json_new_object();
	ids = cf_json_new_array();
	infos = with_info ? cf_json_new_array() : NULL;
	if (!doc || !ids || (with_info && !infos))
		goto out;
	ret = 0;
	for (i = 0; i < st.ncreds && ret == 0; i++) {
		const struct core_portal_cred *pc = &st.creds[i];
		if (!pc->cr.remote || (only_valid && !key_enabled(pc, st.now)))
			continue;
		ret = cf_json_push_str(ids, pc->cr.id);
		if (ret == 0 && with_info) {
			ret = info_json(req, &st, pc, &o, 1, &one);
			if (ret == 0)
				ret = cf_json_push(infos, one);
		}
	}
	ret |= cf_json_add(doc, "credentialIDs", ids);
	ids = NULL;
	if (with_info)
		ret |= cf_json_add(doc, "credentialInfos", infos);
	infos = NULL;
	if (only_valid) /* CSC v2: says that the list holds only credentials that can sign */
		ret |= cf_json_add_bool(doc, "onlyValid", 1);
	if (ret != 0)
		ret = CF_ENOMEM;
	else {
		ret = http_resp_json(resp, 200, doc);
		doc = NULL;
	}
out:
	cf_json_free(ids);
	cf_json_free(infos);
	cf_json_free(doc);
	core_portal_status_free(&st);
	return csc_answer(resp, ret);
}

int api_csc_credentials_info(const struct http_req *req, struct http_resp *resp)
{
	struct core_portal_status st = {0};
	struct core_session s;
	struct info_opts o;
	const char *id;
	cf_json *doc = NULL;
	int ret;
	size_t i;

	ret = csc_status(req, resp, &s, &st);
	if (ret != 0)
		return csc_answer(resp, ret);
	if (!req->payload || cf_json_get_str(req->payload, "credentialID", MAX_ID, &id) != 0) {
		ret = bad(resp, "credentialID is required");
		goto out;
	}
	if ((ret = info_opts_decode(req->payload, resp, &o)) != 0)
		goto out;
	ret = CF_ENOTFOUND;
	for (i = 0; i < st.ncreds; i++)
		if (st.creds[i].cr.remote && strcmp(st.creds[i].cr.id, id) == 0)
			break;
	if (i == st.ncreds) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "no remote credential of this session has that credentialID");
		goto out;
	}
	ret = info_json(req, &st, &st.creds[i], &o, 0, &doc);
	if (ret == 0)
		ret = http_resp_json(resp, 200, doc);
out:
	core_portal_status_free(&st);
	return csc_answer(resp, ret);
}

/* ---- credentials/sendOTP --------------------------------------------------------------------- */

/* Details of the journey errors that the code alone does not explain. */
static void journey_detail(int ret, struct http_resp *resp)
{
	const char *d = NULL;

	if (resp->detail[0])
		return;
	if (ret == CF_ENOTFOUND)
		d = "no remote credential of this session has that credentialID";
	else if (ret == CF_ECONFLICT)
		d = "the credential's certificate has expired";
	else if (ret == CF_EINACTIVE)
		d = "activate the credential first, with the PUK of its envelope, a new PIN and a "
		    "one-time code";
	else if (ret == CF_EBADOTP)
		d = "wrong, used or expired OTP";
	else if (ret == CF_EBADSAD)
		d = "the SAD is unknown, expired, used, or not for these hashes and this "
		    "credential";
	if (d)
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

int api_csc_send_otp(const struct http_req *req, struct http_resp *resp)
{
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *id;
	int64_t retry_at = 0;
	int ret = api_session(req, resp, 0, &s);

	if (ret != 0)
		return csc_answer(resp, ret);
	if (!req->payload || cf_json_get_str(req->payload, "credentialID", MAX_ID, &id) != 0)
		return csc_answer(resp, bad(resp, "credentialID is required"));
	api_who_session(req, &s, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_SMS_ADDR, -1, NULL);
	if (ret != 0)
		return csc_answer(resp, ret);
	ret = core_csc_send_otp(req->core, &who, &s, id, &retry_at);
	if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the holder uses an authenticator app (TOTP): no SMS is sent");
	if (ret == CF_ERATELIMIT)
		resp->retry_at = retry_at;
	journey_detail(ret, resp);
	if (ret == 0)
		resp->status = 204;
	return csc_answer(resp, ret);
}

/* ---- hashes ------------------------------------------------------------------------------- */

/* hashes (1..64 standard base64 strings of hlen octets each) into a malloc'd buffer. */
static int hashes_decode(const cf_json *p, const char *hash_oid, struct http_resp *resp,
			 struct core_csc_hashes *h, uint8_t **buf)
{
	const cf_json *arr = cf_json_get(p, "hashes");
	size_t n = cf_json_array_size(arr), i, len;
	const char *s;

	*buf = NULL;
	h->hash_oid = hash_oid;
	h->hlen = core_csc_hash_len(hash_oid);
	if (h->hlen == 0)
		return bad(resp, "hashAlgorithmOID must be SHA-256, SHA-384 or SHA-512 "
				 "(2.16.840.1.101.3.4.2.1, .2, .3)");
	if (!cf_json_is_array(arr) || n < 1 || n > CUSTODY_SIGN_BATCH_MAX)
		return bad(resp, "hashes must be an array of 1 to 64 base64 strings");
	*buf = malloc(n * h->hlen);
	if (!*buf)
		return CF_ENOMEM;
	for (i = 0; i < n; i++)
		if (cf_json_str(cf_json_array_item(arr, i), MAX_HASH_B64, &s) != 0 ||
		    core_csc_b64_decode(s, *buf + i * h->hlen, h->hlen, &len) != 0 ||
		    len != h->hlen) {
			free(*buf);
			*buf = NULL;
			return bad(resp, "each hash must be the standard base64 (with padding) of "
					 "one digest of hashAlgorithmOID");
		}
	h->hashes = *buf;
	h->n = n;
	return 0;
}

/* ---- credentials/authorize ----------------------------------------------------------------- */

/* PIN and OTP: CSC v2 authData [{id, value}], or the members PIN and OTP of CSC v1. */
static int auth_data(const cf_json *p, const char **pin, const char **otp)
{
	const cf_json *arr = cf_json_get(p, "authData"), *it;
	const char *id, *value;
	size_t i;

	*pin = *otp = NULL;
	if (!arr)
		return cf_json_get_str(p, "PIN", MAX_SECRET, pin) != 0 ||
			       cf_json_get_str(p, "OTP", MAX_SECRET, otp) != 0
			   ? CF_EMALFORMED
			   : 0;
	if (!cf_json_is_array(arr) || cf_json_get(p, "PIN") || cf_json_get(p, "OTP"))
		return CF_EMALFORMED;
	for (i = 0; (it = cf_json_array_item(arr, i)) != NULL; i++) {
		if (cf_json_get_str(it, "id", 16, &id) != 0 ||
		    cf_json_get_str(it, "value", MAX_SECRET, &value) != 0)
			return CF_EMALFORMED;
		if (strcmp(id, "PIN") == 0 && !*pin)
			*pin = value;
		else if (strcmp(id, "OTP") == 0 && !*otp)
			*otp = value;
		else
			return CF_EMALFORMED;
	}
	return *pin && *otp ? 0 : CF_EMALFORMED;
}

int api_csc_authorize(const struct http_req *req, struct http_resp *resp)
{
	const cf_json *p = req->payload;
	struct core_csc_hashes h;
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN], sad[CORE_TOKEN_LEN] = "";
	const char *id, *oid, *pin, *otp;
	uint8_t *buf = NULL;
	int64_t num, expires_at = 0;
	int ret = api_session(req, resp, 0, &s), left = -1;
	cf_json *o;

	if (ret != 0)
		return csc_answer(resp, ret);
	if (!p || cf_json_get_str(p, "credentialID", MAX_ID, &id) != 0)
		return csc_answer(resp, bad(resp, "credentialID is required"));
	if (cf_json_get_str(p, "hashAlgorithmOID", MAX_OID, &oid) != 0)
		return csc_answer(resp, bad(resp, "hashAlgorithmOID is required"));
	if (auth_data(p, &pin, &otp) != 0)
		return csc_answer(resp,
				  bad(resp, "PIN and OTP are required: authData "
					    "[{\"id\": \"PIN\", ...}, {\"id\": \"OTP\", ...}]"));
	/* as on every other route: a code of the wrong shape is malformed, not a counted badOTP */
	if (!proof_otp_shape_ok(otp, 6, 8))
		return csc_answer(resp, bad(resp, "the OTP is 6 to 8 digits"));
	if ((ret = hashes_decode(p, oid, resp, &h, &buf)) != 0)
		return csc_answer(resp, ret);
	if (cf_json_get_int(p, "numSignatures", 1, CUSTODY_SIGN_BATCH_MAX, &num) != 0 ||
	    (size_t)num != h.n) {
		free(buf);
		return csc_answer(resp, bad(resp, "numSignatures must be the number of hashes"));
	}
	api_who_session(req, &s, &who, actor);
	ret = core_csc_authorize(req->core, &who, &s, id, &h, pin, otp, sad, &expires_at, &left);
	free(buf);
	if (ret == CF_EMALFORMED)
		snprintf(resp->detail, sizeof(resp->detail), "the PIN is 8 digits");
	else if (ret == CF_EBADPIN)
		snprintf(resp->detail, sizeof(resp->detail), "wrong PIN");
	journey_detail(ret, resp);
	if ((ret == CF_EBADPIN || ret == CF_EBADOTP) && api_problem_attempts(resp, left) != 0)
		ret = CF_ENOMEM;
	if (ret != 0)
		return csc_answer(resp, ret);
	o = cf_json_new_object();
	if (!o || cf_json_add_str(o, "SAD", sad) != 0 ||
	    cf_json_add_int(o, "expiresIn", expires_at - cf_now()) != 0) {
		cf_json_free(o); /* cf_json_free wipes strings */
		ret = CF_ENOMEM;
	} else {
		ret = http_resp_json(resp, 200, o);
	}
	cf_zeroize(sad, sizeof(sad));
	return csc_answer(resp, ret);
}

/* ---- signatures/signHash ------------------------------------------------------------------- */

int api_csc_sign_hash(const struct http_req *req, struct http_resp *resp)
{
	const cf_json *p = req->payload;
	struct core_csc_hashes h = {0};
	struct custody_sig *sigs = NULL;
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN], *b64;
	const char *id, *sad, *oid = NULL, *algo, *mode = NULL;
	uint8_t *buf = NULL;
	cf_json *o = NULL, *arr = NULL;
	int ret = api_session(req, resp, 0, &s);
	size_t i;

	if (ret != 0)
		return csc_answer(resp, ret);
	if (!p || cf_json_get_str(p, "credentialID", MAX_ID, &id) != 0 ||
	    cf_json_get_str(p, "SAD", MAX_SAD, &sad) != 0 ||
	    cf_json_get_str(p, "signAlgo", MAX_OID, &algo) != 0)
		return csc_answer(resp, bad(resp, "credentialID, SAD and signAlgo are required"));
	if (cf_json_get_str_opt(p, "hashAlgorithmOID", MAX_OID, &oid) != 0 ||
	    cf_json_get_str_opt(p, "operationMode", 8, &mode) != 0)
		return csc_answer(resp,
				  bad(resp, "hashAlgorithmOID and operationMode are strings"));
	if (mode && strcmp(mode, "S") != 0)
		return csc_answer(resp,
				  bad(resp, "only operationMode \"S\" (synchronous) is offered"));
	if (cf_json_get(p, "signAlgoParams")) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "signAlgoParams (RSASSA-PSS) is not offered");
		return csc_answer(resp, CF_EBADALG);
	}
	/* without hashAlgorithmOID the hash is the one signAlgo names */
	if (!oid && !(oid = core_csc_sign_algo_hash(algo)))
		return csc_answer(resp,
				  bad(resp, "hashAlgorithmOID is required with this signAlgo"));
	if ((ret = hashes_decode(p, oid, resp, &h, &buf)) != 0)
		return csc_answer(resp, ret);
	sigs = calloc(h.n, sizeof(*sigs));
	if (!sigs) {
		free(buf);
		return csc_answer(resp, CF_ENOMEM);
	}
	api_who_session(req, &s, &who, actor);
	ret = core_csc_sign(req->core, &who, &s, id, sad, &h, algo, sigs);
	if (ret == CF_EBADALG)
		snprintf(resp->detail, sizeof(resp->detail),
			 "signAlgo does not fit the credential's key and hashAlgorithmOID");
	journey_detail(ret, resp);
	if (ret == 0) {
		ret = CF_ENOMEM;
		o = cf_json_new_object();
		arr = cf_json_new_array();
		if (o && arr)
			ret = 0;
		for (i = 0; i < h.n && ret == 0; i++) {
			b64 = cf_b64_encode_alloc(sigs[i].sig, sigs[i].len);
			ret = b64 ? cf_json_push_str(arr, b64) : CF_ENOMEM;
			free(b64);
		}
		ret |= cf_json_add(o, "signatures", arr);
		arr = NULL;
		if (ret != 0)
			ret = CF_ENOMEM;
		else {
			ret = http_resp_json(resp, 200, o);
			o = NULL;
		}
	}
	cf_json_free(arr);
	cf_json_free(o);
	free(sigs);
	free(buf);
	return csc_answer(resp, ret);
}
