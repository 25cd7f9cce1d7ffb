/*
 * cf_err — the one list of certflow error codes.
 *
 * Every function returns int: 0 on success, a negative CF_E* code otherwise. Each code maps to
 * exactly one problem type (urn:certflow:error:<name>) and HTTP status; spec/errors.md is this
 * table in prose and tests/unit checks that the two agree. Never put a secret in a detail.
 */
#ifndef CF_ERR_H
#define CF_ERR_H

/* X(symbol, value, problem name, HTTP status, title) */
#define CF_ERRORS(X)                                                                              \
	X(CF_EINTERNAL, -1, "serverInternal", 500, "Internal server error")                      \
	X(CF_ENOMEM, -2, "serverInternal", 500, "Out of memory")                                  \
	X(CF_EMALFORMED, -3, "malformed", 400, "Malformed request")                               \
	X(CF_EBADNONCE, -4, "badNonce", 400, "Unacceptable nonce")                                \
	X(CF_EBADALG, -5, "badSignatureAlgorithm", 400, "Unsupported signature algorithm")        \
	X(CF_EBADSIG, -6, "badSignature", 400, "Signature does not verify")                       \
	X(CF_EUNAUTHORIZED, -7, "unauthorized", 403, "Not authorized")                            \
	X(CF_ENOACCOUNT, -8, "accountDoesNotExist", 400, "Account does not exist")                \
	X(CF_EMEDIATYPE, -9, "unsupportedMediaType", 415, "Unsupported media type")               \
	X(CF_ETOOLARGE, -10, "payloadTooLarge", 413, "Request body too large")                    \
	X(CF_EMETHOD, -11, "methodNotAllowed", 405, "Method not allowed")                         \
	X(CF_ENOTFOUND, -12, "notFound", 404, "Resource not found")                               \
	X(CF_EBADCSR, -13, "badCSR", 400, "Unacceptable certificate signing request")             \
	X(CF_EBADKEY, -14, "badPublicKey", 400, "Unacceptable public key")                        \
	X(CF_EBADCODE, -15, "badActivationCode", 403, "Wrong reference number or activation code") \
	X(CF_ELOCKED, -16, "enrolmentLocked", 403, "Enrolment code locked after too many failures") \
	X(CF_EEXPIRED, -17, "enrolmentExpired", 403, "Enrolment code expired")                    \
	X(CF_EUSED, -18, "enrolmentUsed", 403, "Enrolment code already used")                     \
	X(CF_ECANCELLED, -19, "enrolmentCancelled", 403, "Enrolment code cancelled")              \
	X(CF_ENOTWINDOW, -20, "notInRenewalWindow", 403, "Renewal window not open yet")           \
	X(CF_EREVOKED, -21, "credentialRevoked", 403, "Credential revoked")                       \
	X(CF_ESUSPENDED, -22, "credentialSuspended", 403, "Credential suspended")                 \
	X(CF_EALREADY, -23, "alreadyRevoked", 400, "Certificate already revoked")                 \
	X(CF_EBADREASON, -24, "badRevocationReason", 400, "Unacceptable revocation reason")      \
	X(CF_ECONFLICT, -25, "conflict", 409, "Conflict with the current state")                  \
	X(CF_ESTOREFULL, -26, "storageFull", 503, "Storage full, try later")                      \
	X(CF_EUNAVAILABLE, -27, "serviceUnavailable", 503, "Service unavailable, try later")      \
	X(CF_ERATELIMIT, -28, "rateLimited", 429, "Too many requests")                            \
	X(CF_EIO, -29, "serverInternal", 500, "I/O error")                                        \
	X(CF_ECRYPTO, -30, "serverInternal", 500, "Cryptographic failure")                        \
	X(CF_ETLS, -31, "connection", 0, "TLS or connection failure")                             \
	X(CF_EVERIFY, -32, "connection", 0, "Server certificate does not verify")                 \
	X(CF_EPROTO, -33, "protocol", 0, "Unexpected response from server")                       \
	X(CF_ETIMEOUT, -34, "connection", 0, "Timed out")                                         \
	X(CF_EUSAGE, -35, "usage", 0, "Usage error")                                              \
	X(CF_EDEACTIVATED, -36, "unauthorized", 403, "Account deactivated")                      \
	X(CF_EBADANSWERS, -37, "badAnswers", 403, "Security answers not accepted")                \
	X(CF_EPROOFLOCKED, -38, "proofLocked", 403, "Locked after too many failed attempts")      \
	X(CF_EBADOTP, -39, "badOTP", 403, "Wrong, used or expired one-time password")             \
	X(CF_EBADTOKEN, -40, "badToken", 403, "Link token unknown, expired or used")              \
	X(CF_EBADEMERGENCY, -41, "badEmergencyCode", 403, "Wrong reference number or emergency code") \
	X(CF_EWEAKPASSWORD, -42, "weakPassword", 400, "Password does not meet the policy")        \
	X(CF_ECHOICE, -43, "credentialChoiceRequired", 409, "Choose one of several credentials")  \
	X(CF_EBADPASSPHRASE, -44, "badPassphrase", 0, "Wrong passphrase or damaged data")      \
	X(CF_EBADPIN, -45, "badPIN", 403, "Wrong PIN")                                            \
	X(CF_EPINBLOCKED, -46, "pinBlocked", 403, "PIN blocked after too many failures")          \
	X(CF_EBADPUK, -47, "badPUK", 403, "Wrong PUK")                                            \
	X(CF_EBADLOGIN, -48, "badLogin", 401, "Wrong user id or password")                        \
	X(CF_EPWCHANGE, -49, "passwordChangeRequired", 403, "Change the first password first")   \
	X(CF_ESESSION, -50, "badSession", 401, "Session token unknown or expired")                \
	X(CF_EBADCOUPON, -51, "badCoupon", 403, "Coupon unknown, used, cancelled or expired")    \
	X(CF_EENTITLEMENT, -52, "entitlementRequired", 402, "Renewal needs an entitlement")      \
	X(CF_EIDENTITY, -53, "identityChanged", 409, "A changed identity needs a new application") \
	X(CF_EBADSAD, -54, "badSAD", 403, "Signature authorisation unknown, expired, used or not for these hashes") \
	X(CF_EINACTIVE, -55, "credentialInactive", 409, "Credential not activated yet")         \
	X(CF_EREJECTEDID, -56, "rejectedIdentifier", 400, "Identifier not allowed for this account") \
	X(CF_EORDERNOTREADY, -57, "orderNotReady", 403, "Order not ready for this request")       \
	X(CF_EEABREQUIRED, -58, "externalAccountRequired", 400, "External account binding required") \
	X(CF_EUNSUPPORTEDID, -59, "unsupportedIdentifier", 400, "Identifier type not supported")

enum cf_err {
	CF_OK = 0,
#define CF_ERR_ENUM(sym, val, name, status, title) sym = (val),
	CF_ERRORS(CF_ERR_ENUM)
#undef CF_ERR_ENUM
};

/* Human title of code (never NULL; "Unknown error" for codes outside the list). */
const char *cf_strerror(int code);

/* Problem type name ("malformed", ...) of code; "serverInternal" for unknown codes. */
const char *cf_err_problem(int code);

/* HTTP status of code; 500 for unknown codes; 0 for client-side-only codes. */
int cf_err_status(int code);

/* Reverse map for clients: problem type name (without the urn prefix) → the first code with
 * that name, or CF_EPROTO if unknown. */
int cf_err_from_problem(const char *name);

#define CF_PROBLEM_PREFIX "urn:certflow:error:"

#endif
