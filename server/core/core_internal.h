/* core_internal — helpers shared by the files of server/core/; nobody else includes this. */
#ifndef CORE_INTERNAL_H
#define CORE_INTERNAL_H

#include "core.h"

/* 26 Crockford base32 characters of 128 random bits. */
int core_random_id(char out[STORE_ID_LEN]);

/* Issue a certificate for key under the names of enrolment e (never the CSR's names). */
int core_issue_for(struct core *c, const struct store_enrolment *e, const cf_key *key, int64_t now,
		   struct ca_issued *out);

/* Fill a certificate record from what the CA issued. */
int core_cert_record(const struct ca_issued *is, const char *credential_id, struct store_cert *out);

/* A revocation state changed: the next CRL request regenerates it. */
void core_crl_invalidate(struct core *c);

#endif
