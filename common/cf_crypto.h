/*
 * cf_crypto — keys, signatures, digests, randomness and secret hygiene. Two builds of common/
 * stand behind this header (common/CMakeLists.txt): certflow-common on mbedTLS alone (the agent,
 * certflow-admin, certflow-agent-small), and certflow-common-ossl (CF_CRYPTO_OPENSSL), which
 * certflowd links, where cf_crypto_openssl.c does the hot work on OpenSSL 3 libcrypto (random
 * numbers, SHA-256, HMAC, cf_sign/cf_verify, cf_verify_digest, the RSA part of cf_sign_digest
 * and the CA's signer for mbedTLS's X.509 writer) on an EVP_PKEY made once per key, and
 * cf_aead_openssl.c PBKDF2 and AES-GCM. Key parsing and writing, JWK and PKCS#8 (PBES2 with
 * AES-256-CBC) are mbedTLS's in both (same formats either way).
 * mbedTLS lives here (and in the CA module and the agent's TLS transport through
 * cf_crypto_mbedtls.h); no other module names an mbedTLS or OpenSSL type.
 *
 * Thread safety: all functions may be called from any thread. The CSPRNG is a CTR-DRBG per
 * thread, seeded from the OS entropy source (mbedTLS build), or OpenSSL's RAND_bytes.
 */
#ifndef CF_CRYPTO_H
#define CF_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "cf_json.h"

typedef struct cf_key cf_key; /* a public key, or a key pair */

enum cf_key_type { CF_KEY_P256 = 1, CF_KEY_P384, CF_KEY_RSA };
enum cf_alg { CF_ALG_ES256 = 1, CF_ALG_RS256, CF_ALG_ES384 };

/* Fill buf with len octets from the CSPRNG. 0 or CF_ECRYPTO. */
int cf_random(void *buf, size_t len);

/* Wipe memory in a way the compiler cannot drop. Safe on NULL. */
void cf_zeroize(void *buf, size_t len);
/* Wipe the NUL-terminated s, then free it. Safe on NULL. */
void cf_free_secret(char *s);
/* Constant-time comparison of a and b (len octets): 1 if equal, 0 if not. */
int cf_ct_equal(const void *a, const void *b, size_t len);

int cf_sha256(const void *msg, size_t len, uint8_t out[32]);
/* SHA-256, -384 or -512 (hlen 32, 48 or 64) of the whole file path, read in pieces, into out:
 * 0, CF_ENOTFOUND, CF_EIO, CF_EUSAGE (another hlen). */
int cf_digest_file(const char *path, size_t hlen, uint8_t *out);
int cf_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len,
		   uint8_t out[32]);

/* PBKDF2-HMAC-SHA-256 (RFC 8018) of password into out (out_len octets). iterations ≥ 1000,
 * else CF_EUSAGE. */
int cf_pbkdf2_sha256(const void *password, size_t pw_len, const uint8_t *salt, size_t salt_len,
		     uint32_t iterations, uint8_t *out, size_t out_len);

/* AES-256-GCM with a 12-octet nonce and a 16-octet tag. seal writes len octets of ciphertext
 * into out and the tag into tag; open checks the tag (constant time) and writes the plaintext,
 * or returns CF_EBADPASSPHRASE (wrong key or damaged data) leaving out wiped. */
int cf_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
int cf_aead_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out);

/* New key pair: CF_KEY_P256/P384 (bits ignored) or CF_KEY_RSA with 2048..4096 bits. */
int cf_key_generate(enum cf_key_type type, unsigned bits, cf_key **out);
/* Private or public key from PEM or DER text (NUL-terminated PEM, or DER of len). */
int cf_key_parse(const uint8_t *buf, size_t len, cf_key **out);
/* Read a key file (PEM); the buffer is wiped after parsing. CF_EIO, CF_EBADKEY. */
int cf_key_load(const char *path, cf_key **out);
/* Write the private key as PEM to path with mode 0600, atomically (temp file, fsync, rename,
 * fsync of the directory). CF_EIO on any failure, leaving any old file untouched. */
int cf_key_save(const cf_key *key, const char *path);
/* Encrypted private keys: PKCS#8 EncryptedPrivateKeyInfo, PBES2 with PBKDF2-HMAC-SHA-256
 * (iterations, 16-octet random salt) and AES-256-CBC, PEM "ENCRYPTED PRIVATE KEY" (readable by
 * `openssl pkey -passin`). Same atomic write as cf_key_save. */
int cf_key_save_encrypted(const cf_key *key, const char *path, const char *password,
			  uint32_t iterations);
/* Read a key file that may be encrypted: password NULL for a clear key. CF_EBADPASSPHRASE for an
 * encrypted key with a wrong or missing password, CF_EIO, CF_EBADKEY. */
int cf_key_load_password(const char *path, const char *password, cf_key **out);
/* 1 if the PEM file at path holds an encrypted private key, 0 if not, CF_EIO. */
int cf_key_file_is_encrypted(const char *path);
/* The PBKDF2 iteration count of the encrypted key file at path (the form cf_key_save_encrypted
 * writes), so that a successor can be encrypted alike. CF_EBADKEY if it is not such a file,
 * CF_EIO. */
int cf_key_file_iterations(const char *path, uint32_t *iterations);
void cf_key_free(cf_key *key);

enum cf_key_type cf_key_type(const cf_key *key);
unsigned cf_key_bits(const cf_key *key);
/* The JWS algorithm this key signs with (ES256 for P-256, ES384 for P-384, RS256 for RSA). */
enum cf_alg cf_key_alg(const cf_key *key);
/* 1 if a and b hold the same public key. */
int cf_key_public_equal(const cf_key *a, const cf_key *b);

/* Public key as a JWK object (members in RFC 7638 order). */
int cf_key_to_jwk(const cf_key *key, cf_json **out);
/* Public key from a JWK: kty EC (crv P-256/P-384, x, y on the curve) or RSA (n ≥ 2048 bits ≤ 4096,
 * e). A JWK with private members (d, p, q, dp, dq, qi, k) or other kty → CF_EBADKEY/CF_EMALFORMED. */
int cf_key_from_jwk(const cf_json *jwk, cf_key **out);
/* RFC 7638 thumbprint, base64url of SHA-256 (43 characters + NUL). */
int cf_key_thumbprint(const cf_key *key, char out[44]);
/* SubjectPublicKeyInfo DER, malloc'd. */
int cf_key_spki_der(const cf_key *key, uint8_t **der, size_t *len);

/* JWS signature of msg: ES256/ES384 as raw r||s (64/96 octets), RS256 as PKCS#1 v1.5. ECDSA
 * is deterministic (RFC 6979) in the mbedTLS build, randomised in the OpenSSL one.
 * sig_cap ≥ 512. alg must fit the key (CF_EBADALG otherwise). */
int cf_sign(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, uint8_t *sig,
	    size_t sig_cap, size_t *sig_len);
/* 0 if sig is a valid signature by key under alg, CF_EBADSIG if not, CF_EBADALG on mismatch. */
int cf_verify(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, const uint8_t *sig,
	      size_t sig_len);
/* 0 if sig, in the form X.509 and PKCS#10 use (a DER Ecdsa-Sig-Value for an EC key, PKCS#1 v1.5
 * for RSA), is a valid signature by key over the SHA-256/384/512 digest hash (which one is
 * told by hlen: 32, 48 or 64). CF_EBADSIG if not, CF_EINTERNAL for another hlen. */
int cf_verify_digest(const cf_key *key, const uint8_t *hash, size_t hlen, const uint8_t *sig,
		     size_t sig_len);

/* Sign the SHA-256/384/512 digest hash (hlen 32, 48 or 64) with the key pair key, in the form
 * cf_verify_digest checks: a DER Ecdsa-Sig-Value (deterministic ECDSA, RFC 6979) for an EC key,
 * PKCS#1 v1.5 over the DigestInfo for RSA. sig_cap ≥ 512. CF_EBADKEY for a public key,
 * CF_EINTERNAL for another hlen or a short buffer. */
int cf_sign_digest(const cf_key *key, const uint8_t *hash, size_t hlen, uint8_t *sig,
		   size_t sig_cap, size_t *sig_len);

/* The clear private key as DER of a PKCS#8 PrivateKeyInfo (RFC 5958; the inner key of
 * cf_key_save_encrypted) written to buf[0..*len). CF_EBADKEY for a public key, CF_EINTERNAL if
 * cap is too small (2,400 octets hold an RSA-4096 key). The caller wipes buf. */
int cf_key_pkcs8_der(const cf_key *key, uint8_t *buf, size_t cap, size_t *len);

/* PKCS#10 CSR (DER, malloc'd), SHA-256, for the key pair key with subject "CN=<cn>"; cn NULL means
 * "CN=certflow" (never an empty subject, which mbedTLS 2.28 cannot parse: certflowd would refuse
 * the CSR). cn: 1..64 characters without control characters or any of ,=+\"<>;# (CF_EMALFORMED).
 * CF_EBADKEY for a public key. */
int cf_csr_create(const cf_key *key, const char *cn, uint8_t **der, size_t *len);

/* Name ↔ enum: "ES256" → CF_ALG_ES256; 0 if unknown. */
enum cf_alg cf_alg_from_name(const char *name);
const char *cf_alg_name(enum cf_alg alg);

#endif
