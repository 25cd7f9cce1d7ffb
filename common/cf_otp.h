/*
 * cf_otp — one-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238, HMAC-SHA-1 as authenticator
 * apps expect), the RFC 4648 base32 alphabet their secrets use, and otpauth:// URIs (the Key
 * Uri Format of Google Authenticator) for enrolment by QR code.
 */
#ifndef CF_OTP_H
#define CF_OTP_H

#include <stddef.h>
#include <stdint.h>

#define CF_OTP_SEED_LEN 20 /* 160-bit seeds (RFC 4226 §4 recommends ≥ 160 bits) */

/* HOTP value of counter: digits 6..8. */
uint32_t cf_hotp(const uint8_t *seed, size_t seed_len, uint64_t counter, int digits);
/* TOTP value at Unix time t with step seconds (T0 = 0). */
uint32_t cf_totp(const uint8_t *seed, size_t seed_len, int64_t t, int step, int digits);
/* Check a typed code ("123456": digits only, exactly `digits` long) against the steps
 * now-window .. now+window; only steps > *last_step count (each code is accepted once).
 * 0 and *last_step = the matching step, or CF_EBADOTP. Constant time over the window. */
int cf_totp_check(const uint8_t *seed, size_t seed_len, const char *code, int64_t now, int step,
		  int digits, int window, int64_t *last_step);

/* RFC 4648 base32 without padding (upper case) of in into out (cap ≥ 8*ceil(len/5)/5+1...);
 * CF_EUSAGE if out is too small. decode accepts lower case and ignores spaces; CF_EMALFORMED. */
int cf_base32_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int cf_base32_decode(const char *in, uint8_t *out, size_t cap, size_t *out_len);

/* otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=D&period=P
 * with ISSUER and ACCOUNT percent-encoded. CF_EUSAGE if cap is too small. */
int cf_otpauth_uri(const char *issuer, const char *account, const uint8_t *seed, size_t seed_len,
		   int digits, int period, char *out, size_t cap);

#endif
