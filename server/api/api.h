/*
 * api — one file per resource of spec/protocol.md. A handler decodes the request (bounded
 * cf_json getters), calls the core, and encodes the JSON answer; it never touches CivetWeb, the
 * store's transactions or the CA's keys. This header also holds the encoders shared by
 * several resources and the route table.
 */
#ifndef API_H
#define API_H

#include "core.h"
#include "http.h"

/* The route table of certflowd, terminated by a {NULL} row. */
extern const struct http_route api_routes[];

/* ---- handlers --------------------------------------------------------------------------- */
int api_directory(const struct http_req *req, struct http_resp *resp);
int api_new_nonce(const struct http_req *req, struct http_resp *resp);
int api_activate(const struct http_req *req, struct http_resp *resp);
int api_renew(const struct http_req *req, struct http_resp *resp);
int api_account(const struct http_req *req, struct http_resp *resp);
int api_key_change(const struct http_req *req, struct http_resp *resp);
int api_credential(const struct http_req *req, struct http_resp *resp);
int api_renewal_info(const struct http_req *req, struct http_resp *resp);
int api_ca_chain(const struct http_req *req, struct http_resp *resp);
int api_crl(const struct http_req *req, struct http_resp *resp);

int api_admin_enrolment_create(const struct http_req *req, struct http_resp *resp);
int api_admin_enrolment_list(const struct http_req *req, struct http_resp *resp);
int api_admin_enrolment_cancel(const struct http_req *req, struct http_resp *resp);
int api_admin_credential_list(const struct http_req *req, struct http_resp *resp);
int api_admin_credential_show(const struct http_req *req, struct http_resp *resp);
int api_admin_certificate_show(const struct http_req *req, struct http_resp *resp);
int api_admin_revoke(const struct http_req *req, struct http_resp *resp);
int api_admin_suspend(const struct http_req *req, struct http_resp *resp);
int api_admin_reinstate(const struct http_req *req, struct http_resp *resp);

/* ---- encoders (encode.c); each returns a new object or NULL on allocation failure -------- */

/* "<base>/v1/<kind>/<id>" into out. */
void api_url(const struct http_req *req, const char *kind, const char *id, char *out, size_t cap);

/* Certificate object of §9 (serial, notBefore, notAfter, status, pem, renewalInfo; reason and
 * revokedAt once revoked or suspended). */
cf_json *api_cert_json(const struct http_req *req, const struct store_cert *cert);
/* Credential object of §9; full_certs → "certificates" holds certificate objects (§12
 * credential-show) instead of serials. */
int api_credential_json(const struct http_req *req, const struct store_credential *cr,
			int full_certs, cf_json **out);
cf_json *api_enrolment_json(const struct store_enrolment *e);
int api_account_json(const struct http_req *req, const struct store_account *a, cf_json **out);
/* Respond to activate (201) and renew (200): account URL, credential, certificate, chain, and
 * the credential URL in Location. */
int api_issue_respond(const struct http_req *req, const struct core_issue_result *res, int status,
		      struct http_resp *resp);

/* Decode a required base64url member of at most max_len characters into a malloc'd buffer. */
int api_get_b64u(const cf_json *obj, const char *key, size_t max_len, uint8_t **out,
		 size_t *out_len);

#endif
