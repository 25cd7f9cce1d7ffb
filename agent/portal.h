/*
 * portal — the holder's portal session of certflow-agent (spec/cli.md "Remote credentials",
 * spec/protocol.md §23-§27): the session file and the bearer-token requests of the portal and
 * CSC routes. Used by the portal commands (portal.c) and by `login --qr` (qrlogin.c).
 *
 * Never: keep the token anywhere but the session file (mode 0600) and wiped memory, or print it.
 */
#ifndef PORTAL_H
#define PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "cf_json.h"

/* The session file: JSON {server, ca?, token, expiresAt (RFC 3339), userId}. */
struct portal_session {
	char server[512];
	char ca[4096];	    /* trust anchor file, "" if none was given */
	char token[64];	    /* 43 base64url characters */
	int64_t expires_at; /* Unix time */
	char user_id[64];
};

/* Write s to path atomically with mode 0600 (cf_file_write). 0, CF_EUSAGE (no server or token),
 * CF_ENOMEM or CF_EIO. The JSON text is wiped after writing. */
int portal_session_save(const char *path, const struct portal_session *s);

/* Read path into s: 0; CF_ENOTFOUND (no file); CF_EIO; CF_EMALFORMED (not a session file);
 * CF_ESESSION (expired by cf_now()). On failure s is wiped. Wipe s (cf_zeroize) after use. */
int portal_session_load(const char *path, struct portal_session *s);

/* The session from a login or QR poll answer {token, expiresAt, userId?}: server and ca as given,
 * userId from the answer or user_id. 0 or CF_EPROTO (a member missing or malformed). */
int portal_session_from(const cf_json *resp, const char *server, const char *ca,
			const char *user_id, struct portal_session *s);

/* The end of a login (also `login --qr`): the session of the answer resp ({token, expiresAt,
 * userId?, mustChangePassword?, notices?}) saved to session_file with server, ca (an absolute
 * path, or NULL) and user_id (NULL: the answer's), then userId, expiresAt, mustChangePassword
 * and the update notices printed. An enum agent_exit; the error line printed. */
int portal_login_finish(const cf_json *resp, const char *server, const char *ca,
			const char *user_id, const char *session_file);

/* (Encoding to standard base64: cf_b64_encode_alloc.) Standard or URL-safe base64, padded or not, into out (cap octets): 0 and *len, CF_EMALFORMED
 * or CF_ETOOLARGE. */
int portal_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len);

/* The OIDs of a signature over hlen-octet digests (32, 48, 64) by the key of a CSC
 * credentials/info answer (key.algo: ecPublicKey or rsaEncryption, or a signature algorithm of
 * either family): 0, or CF_EUSAGE (hlen) or CF_EPROTO (no known key algorithm). */
int portal_sign_oids(const cf_json *info, size_t hlen, const char **hash_oid,
		     const char **sign_oid);

/* dir/<the last component of file>.sig into out: 0, or CF_EUSAGE (no name, or too long). */
int portal_sig_path(const char *dir, const char *file, char *out, size_t cap);

#endif
