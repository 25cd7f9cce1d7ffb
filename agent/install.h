/*
 * install — put a new key, certificate and chain into the agent's directory so that a reader
 * never sees a key and a certificate that do not belong together, even after a crash.
 *
 * Layout of DIR (every name below is relative to DIR):
 *   sets/<serial>/{key.pem,cert.pem,chain.pem}   one complete set per certificate
 *   live -> sets/<serial>                         the current set (a symlink)
 *   previous -> sets/<serial>                     the set before it, if any
 *   key.pem, cert.pem, chain.pem -> live/...      the stable paths that services read
 *   key.pem.prev, cert.pem.prev, chain.pem.prev -> previous/...
 */
#ifndef INSTALL_H
#define INSTALL_H

#include <stddef.h>
#include <stdint.h>

#include "cf_crypto.h"

/* Write key (0600), cert_pem and chain_pem as a new set in dir, check from the files written that
 * the key is the certificate's and that certificate + chain verify to a trust anchor of ca_file
 * (valid at the time at, as certcheck_verify), then switch "live" to it, keeping the old live set
 * as "previous". serial (lower-case hex) names the set. Returns 0, or CF_EVERIFY / CF_EBADKEY /
 * CF_EMALFORMED (nothing changed in dir), CF_EIO (why says which step). */
int install_credential(const char *dir, const cf_key *key, const char *cert_pem,
		       const char *chain_pem, const char *ca_file, const char *serial, int64_t at,
		       char *why, size_t why_len);

/* 0 if the certificate in cert_pem holds key's public key and cert_pem + chain_pem (intermediates,
 * may include the root) verify to a trust anchor in ca_file, every certificate of that chain (the
 * anchor included) valid at the time at (Unix seconds; the device's clock is not used: at is the
 * server's time when the two differ, agent_check_time); at 0: validity times are not checked.
 * CF_EBADKEY (key mismatch), CF_EVERIFY (chain or times), CF_EMALFORMED (unparsable), CF_EIO
 * (ca_file); why says what failed. */
int certcheck_verify(const char *cert_pem, const char *chain_pem, const cf_key *key,
		     const char *ca_file, int64_t at, char *why, size_t why_len);

/* What the agent's schedule needs of the certificate in the PEM file at path: its serial number
 * (lower-case hex, two digits per octet, without a leading 00 octet) and validity (Unix time).
 * CF_ENOTFOUND if there is no such file, CF_EMALFORMED if it holds no certificate, CF_EIO. */
struct cert_info {
	char serial[65];
	int64_t not_before, not_after;
};
int certcheck_info(const char *path, struct cert_info *out);

/* What a crash at the wrong moment left in dir, removed: temporary files of atomic writes in dir
 * and dir/pending (account.json.tmpXXXXXX, ...), temporary symlinks (.live.tmp, ...), and sets
 * that are neither live nor previous (an install cut short before its switch). Never a live file,
 * the previous set, or the key and response in dir/pending that a resumable enrolment or renewal
 * needs. Call it holding dir's lock (agent_lock). Best effort: failures only leave garbage. */
void install_sweep(const char *dir);

#endif
