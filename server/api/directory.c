/* directory — GET /v1/directory (§2) and the new-nonce resource (§3; the nonce itself is added
 * to every response by the HTTP layer). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"

static int add_url(cf_json *o, const struct http_req *req, const char *name, const char *path)
{
	char url[HTTP_MAX_URL + 64];

	snprintf(url, sizeof(url), "%s%s", req->base_url, path);
	return cf_json_add_str(o, name, url);
}

static cf_json *profile(int days, const char *renewal)
{
	cf_json *p = cf_json_new_object();

	if (p && (cf_json_add_int(p, "validityDays", days) != 0 ||
		  cf_json_add_str(p, "renewal", renewal) != 0)) {
		cf_json_free(p);
		return NULL;
	}
	return p;
}

/* meta.otp: the TOTP parameters of §19. */
static cf_json *otp_meta(const struct core_config *cfg)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? 0 : CF_ENOMEM;

	ret |= cf_json_add_int(o, "digits", cfg->otp_digits);
	ret |= cf_json_add_int(o, "period", cfg->otp_step_secs);
	ret |= cf_json_add_int(o, "window", cfg->otp_window_steps);
	ret |= cf_json_add_int(o, "maxFailures", cfg->otp_max_failures);
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

/* meta.passwordPolicy: the rules of cf_password_check (§16). */
static cf_json *password_meta(void)
{
	static const char *const classes[] = {"upper", "lower", "digit", "special"};
	cf_json *o = cf_json_new_object(), *req = cf_json_new_array();
	int ret = o && req ? 0 : CF_ENOMEM;

	for (size_t i = 0; ret == 0 && i < sizeof(classes) / sizeof(classes[0]); i++)
		ret = cf_json_push_str(req, classes[i]);
	ret |= cf_json_add_int(o, "minLength", 8);
	ret |= cf_json_add_int(o, "maxLength", 128);
	ret |= cf_json_add(o, "requires", req);
	ret |= cf_json_add_int(o, "maxRepeat", 2);
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

/* meta.consentTexts: {"terms": {"title", "text"}, ...} */
static int consent_texts(cf_json *m)
{
	cf_json *all = cf_json_new_object(), *one;
	int ret = all ? 0 : CF_ENOMEM;

	for (const struct api_consent_text *t = api_consent_texts; ret == 0 && t->name; t++) {
		one = cf_json_new_object();
		if (!one || cf_json_add_str(one, "title", t->title) != 0 ||
		    cf_json_add_str(one, "text", t->text) != 0) {
			cf_json_free(one);
			ret = CF_ENOMEM;
		} else {
			ret = cf_json_add(all, t->name, one); /* takes one, even on failure */
		}
	}
	if (ret != 0) {
		cf_json_free(all);
		return ret;
	}
	return cf_json_add(m, "consentTexts", all); /* takes all */
}

/* The members of meta for the human journeys (§14-§21). */
static int journeys_meta(cf_json *m, const struct core_config *cfg)
{
	cf_json *consents = cf_json_new_array(), *otp = otp_meta(cfg), *pw = password_meta();
	int ret = consents ? 0 : CF_ENOMEM;

	for (size_t i = 0; ret == 0 && api_consents[i]; i++)
		ret = cf_json_push_str(consents, api_consents[i]);
	ret |= consents ? cf_json_add(m, "consents", consents) : CF_ENOMEM;
	ret |= consent_texts(m);
	ret |= cf_json_add_int(m, "questionsRequired", cfg->questions_required);
	ret |= cf_json_add_int(m, "questionAttempts", cfg->question_attempts);
	ret |= cf_json_add_int(m, "linkTokenMinutes", cfg->link_token_minutes);
	ret |= otp ? cf_json_add(m, "otp", otp) : CF_ENOMEM;
	ret |= pw ? cf_json_add(m, "passwordPolicy", pw) : CF_ENOMEM;
	return ret ? CF_ENOMEM : 0;
}

static cf_json *meta(const struct http_req *req)
{
	const struct core_config *cfg = &req->core->cfg;
	cf_json *m = cf_json_new_object(), *algs = cf_json_new_array(),
		*profs = cf_json_new_object(), *remote;
	char signing[64];
	int ret = 0;

	if (!m || !algs || !profs)
		goto fail;
	snprintf(signing, sizeof(signing), "%d-days-before-expiry", cfg->signing_renewal_days);
	ret |= cf_json_add_str(m, "protocolVersion", "1");
	ret |= cf_json_push_str(algs, "ES256");
	ret |= cf_json_push_str(algs, "ES384");
	ret |= cf_json_push_str(algs, "RS256");
	ret |= cf_json_add(m, "algorithms", algs);
	algs = NULL;
	ret |= cf_json_add_str(m, "caFingerprint", ca_root_fingerprint(req->core->ca));
	ret |= cf_json_add_int(m, "enrolmentCodeLifetimeDays", cfg->enrolment_code_days);
	ret |= cf_json_add_int(m, "maxActivationAttempts", cfg->max_activation_attempts);
	ret |= cf_json_add(profs, "device", profile(cfg->device_validity_days, "last-third"));
	ret |= cf_json_add(profs, "signing", profile(cfg->signing_validity_days, signing));
	remote = profile(cfg->signing_validity_days, signing);
	ret |= remote ? cf_json_add_str(remote, "custody", "server") : -1;
	ret |= cf_json_add(profs, "remote", remote);
	ret |= cf_json_add(m, "profiles", profs);
	profs = NULL;
	ret |= journeys_meta(m, cfg);
	if (ret == 0)
		return m;
fail:
	cf_json_free(algs);
	cf_json_free(profs);
	cf_json_free(m);
	return NULL;
}

int api_directory(const struct http_req *req, struct http_resp *resp)
{
	static const char *const rows[][2] = {
	    {"newNonce", "/v1/new-nonce"},
	    {"activate", "/v1/activate"},
	    {"renew", "/v1/renew"},
	    {"keyChange", "/v1/key-change"},
	    {"renewalInfo", "/v1/renewal-info"},
	    {"caChain", "/v1/ca/chain"},
	    {"crl", "/v1/crl"},
	    {"admin", "/v1/admin"},
	    {"apply", "/v1/apply"},
	    {"referenceRenew", "/v1/reference-renew"},
	    {"recovery", "/v1/recovery"},
	    {"recoveryStart", "/v1/recovery/start"},
	    {"recoveryOtp", "/v1/recovery/otp"},
	    {"recoveryComplete", "/v1/recovery/complete"},
	    {"emergencySuspend", "/v1/emergency-suspend"},
	    {"totpSetup", "/v1/totp/setup"},
	    {"totpConfirm", "/v1/totp/confirm"},
	    {"login", "/v1/login"},
	    {"passwordForgot", "/v1/password/forgot"},
	    {"passwordResetOtp", "/v1/password/reset/otp"},
	    {"passwordReset", "/v1/password/reset"},
	    {"portal", "/v1/portal"},
	    {"qrLogin", "/v1/qr-login"},
	    {"qrLoginApprove", "/v1/qr-login/approve"},
	    {"qrLoginPoll", "/v1/qr-login/poll"},
	    {"csc", "/csc/v2"}, /* the CSC API's base: "<csc>/info", "<csc>/credentials/list" … */
	};
	cf_json *o = cf_json_new_object(), *m;
	int ret = 0;
	size_t i;

	if (!o)
		return CF_ENOMEM;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ret |= add_url(o, req, rows[i][0], rows[i][1]);
	m = meta(req);
	ret |= m ? cf_json_add(o, "meta", m) : CF_ENOMEM;
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

int api_new_nonce(const struct http_req *req, struct http_resp *resp)
{
	/* HEAD → 200, GET → 204 (RFC 8555 §7.2); the Replay-Nonce header is added for us. */
	resp->status = strcmp(req->method, "HEAD") == 0 ? 200 : 204;
	return 0;
}
