/*
 * route_problems — what each route may answer besides the problems of every route and of its
 * auth (http_route_declares in server/http/route.c): the "Resources" table of spec/errors.md in
 * C. tests/spec/check_route_problems.py fails when the two differ or a route of routes.c has no
 * row here; the server logs "undeclared problem" when a route answers a problem not declared for
 * it, and the test harness fails on that line. A new route, or a new problem a handler answers,
 * needs a row here and in spec/errors.md.
 */
#include "api.h"

/* The bearer routes that a restricted session may not use (§23.1, §25.1). */
#define PWCHANGE "passwordChangeRequired "

const struct http_route_problems api_route_problems[] = {
    /* §2, §3, §11: reads */
    {"GET", "/v1/directory", ""},
    {"HEAD", "/v1/new-nonce", ""},
    {"GET", "/v1/new-nonce", ""},
    {"GET", "/v1/renewal-info/*", "notFound"},
    {"GET", "/v1/ca/chain", ""},
    {"GET", "/v1/crl", ""},
    /* §6, §9-§11: the agent's resources */
    {"POST", "/v1/activate",
     "badCSR badActivationCode enrolmentLocked enrolmentExpired enrolmentUsed "
     "enrolmentCancelled"},
    {"POST", "/v1/renew",
     "badCSR notFound credentialRevoked credentialSuspended notInRenewalWindow"},
    {"POST", "/v1/key-change", "badPublicKey conflict"},
    {"POST", "/v1/account/*", "notFound conflict"},
    {"POST", "/v1/credential/*", "notFound"},
    /* §12: admin operations */
    {"POST", "/v1/admin/enrolment-create", ""},
    {"POST", "/v1/admin/enrolment-list", ""},
    {"POST", "/v1/admin/enrolment-cancel", "notFound conflict"},
    {"POST", "/v1/admin/credential-list", ""},
    {"POST", "/v1/admin/credential-show", "notFound"},
    {"POST", "/v1/admin/certificate-show", "notFound"},
    {"POST", "/v1/admin/revoke", "notFound alreadyRevoked badRevocationReason"},
    {"POST", "/v1/admin/suspend", "notFound alreadyRevoked"},
    {"POST", "/v1/admin/reinstate", "notFound conflict"},
    /* §14, §15, §20: applications */
    {"POST", "/v1/apply", "weakPassword"},
    {"POST", "/v1/reference-renew", "badAnswers proofLocked"},
    {"POST", "/v1/emergency-suspend", "badEmergencyCode proofLocked conflict alreadyRevoked"},
    {"POST", "/v1/admin/application-list", ""},
    {"POST", "/v1/admin/application-show", "notFound"},
    {"POST", "/v1/admin/application-approve", "notFound conflict"},
    {"POST", "/v1/admin/application-reject", "notFound conflict"},
    {"POST", "/v1/admin/audit-list", ""},
    {"POST", "/v1/admin/unlock", "notFound"},
    {"POST", "/v1/admin/totp-reset", "notFound"},
    {"POST", "/v1/admin/subject-update", "notFound conflict"},
    /* §17, §19: recovery and one-time passwords */
    {"POST", "/v1/recovery", ""},
    {"POST", "/v1/recovery/start", "badToken proofLocked"},
    {"POST", "/v1/recovery/otp", "badToken proofLocked conflict"},
    {"POST", "/v1/recovery/complete",
     "weakPassword badToken proofLocked badOTP badAnswers credentialChoiceRequired conflict"},
    {"POST", "/v1/totp/setup", "conflict"},
    {"POST", "/v1/totp/confirm", "conflict badOTP proofLocked"},
    {"POST", "/v1/admin/outbox-list", ""},
    /* §27: login by QR code */
    {"POST", "/v1/qr-login", ""},
    {"POST", "/v1/qr-login/approve", "badToken conflict"},
    {"POST", "/v1/qr-login/poll", "badToken"},
    /* §23: login and the portal */
    {"POST", "/v1/login", "badLogin proofLocked"},
    {"POST", "/v1/password/forgot", ""},
    {"POST", "/v1/password/reset/otp", "badToken conflict proofLocked"},
    {"POST", "/v1/password/reset", "weakPassword badToken badOTP proofLocked"},
    {"POST", "/v1/portal/password", "weakPassword badLogin proofLocked"},
    {"POST", "/v1/portal/logout", ""},
    {"POST", "/v1/portal/status", PWCHANGE ""},
    {"POST", "/v1/portal/otp", PWCHANGE "conflict proofLocked"},
    {"POST", "/v1/portal/totp/setup", PWCHANGE "conflict"},
    {"POST", "/v1/portal/totp/confirm", PWCHANGE "conflict badOTP proofLocked"},
    {"POST", "/v1/admin/login-unlock", "notFound"},
    /* §24, §26: remote credentials */
    {"POST", "/v1/portal/activate",
     PWCHANGE "notFound credentialRevoked badOTP proofLocked badPUK"},
    {"POST", "/v1/portal/pin",
     PWCHANGE "notFound credentialRevoked credentialInactive badOTP proofLocked pinBlocked "
	      "badPIN"},
    {"POST", "/v1/portal/renew",
     PWCHANGE "identityChanged weakPassword notFound credentialInactive credentialRevoked "
	      "credentialSuspended notInRenewalWindow conflict entitlementRequired badCoupon "
	      "badPIN pinBlocked badOTP proofLocked"},
    {"POST", "/v1/portal/update",
     PWCHANGE "notFound credentialInactive credentialRevoked credentialSuspended conflict "
	      "badPIN pinBlocked badOTP proofLocked"},
    {"POST", "/v1/portal/update/otp", PWCHANGE "badToken conflict"},
    {"POST", "/v1/portal/update/complete",
     PWCHANGE "weakPassword badToken conflict badOTP proofLocked credentialRevoked "
	      "credentialSuspended"},
    {"POST", "/v1/admin/coupon-issue", "notFound"},
    {"POST", "/v1/admin/coupon-list", ""},
    {"POST", "/v1/admin/coupon-cancel", "notFound conflict"},
    {"POST", "/v1/admin/update-mark", "notFound conflict"},
    {"POST", "/v1/admin/operator-add", "conflict"},
    {"POST", "/v1/admin/operator-list", ""},
    {"POST", "/v1/admin/operator-remove", "notFound conflict"},
    /* §25: the CSC API */
    {"POST", "/csc/v2/info", ""},
    {"GET", "/csc/v2/info", ""},
    {"POST", "/csc/v2/credentials/list", PWCHANGE ""},
    {"POST", "/csc/v2/credentials/info", PWCHANGE "notFound"},
    {"POST", "/csc/v2/credentials/sendOTP",
     PWCHANGE "notFound credentialRevoked credentialSuspended credentialInactive conflict "
	      "proofLocked"},
    {"POST", "/csc/v2/credentials/authorize",
     PWCHANGE "notFound credentialRevoked credentialSuspended credentialInactive conflict "
	      "badPIN pinBlocked badOTP proofLocked"},
    {"POST", "/csc/v2/signatures/signHash",
     PWCHANGE "notFound badSAD badSignatureAlgorithm credentialRevoked credentialSuspended "
	      "credentialInactive conflict pinBlocked"},
    {0},
};
