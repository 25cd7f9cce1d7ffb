/* routes — the route table of certflowd: {method, path pattern, auth, handler}. */
#include "api.h"

const struct http_route api_routes[] = {
    {"GET", "/v1/directory", HTTP_AUTH_NONE, api_directory},
    {"HEAD", "/v1/new-nonce", HTTP_AUTH_NONE, api_new_nonce},
    {"GET", "/v1/new-nonce", HTTP_AUTH_NONE, api_new_nonce},
    {"POST", "/v1/activate", HTTP_AUTH_JWK, api_activate},
    {"POST", "/v1/renew", HTTP_AUTH_KID, api_renew},
    {"POST", "/v1/key-change", HTTP_AUTH_KID, api_key_change},
    {"POST", "/v1/account/*", HTTP_AUTH_KID, api_account},
    {"POST", "/v1/credential/*", HTTP_AUTH_KID, api_credential},
    {"GET", "/v1/renewal-info/*", HTTP_AUTH_NONE, api_renewal_info},
    {"GET", "/v1/ca/chain", HTTP_AUTH_NONE, api_ca_chain},
    {"GET", "/v1/crl", HTTP_AUTH_NONE, api_crl},
    {"POST", "/v1/admin/enrolment-create", HTTP_AUTH_ADMIN, api_admin_enrolment_create},
    {"POST", "/v1/admin/enrolment-list", HTTP_AUTH_ADMIN, api_admin_enrolment_list},
    {"POST", "/v1/admin/enrolment-cancel", HTTP_AUTH_ADMIN, api_admin_enrolment_cancel},
    {"POST", "/v1/admin/credential-list", HTTP_AUTH_ADMIN, api_admin_credential_list},
    {"POST", "/v1/admin/credential-show", HTTP_AUTH_ADMIN, api_admin_credential_show},
    {"POST", "/v1/admin/certificate-show", HTTP_AUTH_ADMIN, api_admin_certificate_show},
    {"POST", "/v1/admin/revoke", HTTP_AUTH_ADMIN, api_admin_revoke},
    {"POST", "/v1/admin/suspend", HTTP_AUTH_ADMIN, api_admin_suspend},
    {"POST", "/v1/admin/reinstate", HTTP_AUTH_ADMIN, api_admin_reinstate},
    {0},
};
