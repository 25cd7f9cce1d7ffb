/*
 * keyfile — the certificate key files of an agent directory (sets/<serial>/key.pem,
 * pending/key.pem), clear or encrypted under the key password (spec/protocol.md §16.4: PKCS#8,
 * PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC). The account key is never encrypted.
 *
 * The password is process-wide state: keyfile_unlock sets it for one credential before its
 * enrol or renew, keyfile_lock wipes it after (the daemon calls the pair around each
 * credential). Not thread-safe. The password never reaches a message.
 */
#ifndef KEYFILE_H
#define KEYFILE_H

#include <stdint.h>

#include "cf_crypto.h"

#define KEYFILE_ITER_DEFAULT 600000 /* PBKDF2-HMAC-SHA-256 iterations (OWASP, 2023) */
#define KEYFILE_ITER_MIN 10000

/* Prepare the key files of dir (NULL for enrol: no current key): password_file NULL or "" →
 * clear files, and an encrypted dir/key.pem is an error; else the password is the first line of
 * password_file ("-": standard input, not echoed on a terminal; the line as typed, blanks
 * included). When dir/key.pem is encrypted it must open with the password (a wrong one fails here,
 * before any request); when there is none or it is clear, the password is new and must pass
 * cf_password_check. iterations: 0 for KEYFILE_ITER_DEFAULT, else ≥ KEYFILE_ITER_MIN. Prints one
 * line on failure; returns AGENT_OK, AGENT_USAGE (weak password, bad iterations), AGENT_FAIL. */
int keyfile_unlock(const char *dir, const char *password_file, uint32_t iterations);
/* Forget the password (wiped). Safe to call at any time. */
void keyfile_lock(void);
/* 1 while a password is set. */
int keyfile_encrypted(void);

/* Write key to path (0600, atomic): encrypted when a password is set, else clear. */
int keyfile_save(const cf_key *key, const char *path);
/* Read the key at path, clear or (with the password set) encrypted. CF_EBADPASSPHRASE for an
 * encrypted file without the right password; CF_EIO, CF_EBADKEY. */
int keyfile_load(const char *path, cf_key **out);

#endif
