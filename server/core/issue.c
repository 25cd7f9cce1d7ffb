/*
 * issue — what activation and renewal share: random ids, building the CA request from an
 * enrolment's names, and the certificate record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int core_random_id(char out[STORE_ID_LEN])
{
	uint8_t rnd[17] = {0};
	unsigned bit, v;
	size_t i;

	if (cf_random(rnd, 16) != 0)
		return CF_ECRYPTO;
	for (i = 0, bit = 0; i < 26; i++, bit += 5) {
		v = ((unsigned)rnd[bit / 8] << 8 | rnd[bit / 8 + 1]) >> (11 - bit % 8);
		out[i] = crockford[v & 31];
	}
	out[26] = '\0';
	return 0;
}

int core_issue_for(struct core *c, const struct store_enrolment *e, const cf_key *key, int64_t now,
		   struct ca_issued *out)
{
	const char *dns[5] = {NULL};
	struct ca_issue_req req;
	int64_t validity;
	int ret, i, n = 0;

	ret = core_profile_validity(&c->cfg, e->profile, &validity);
	if (ret != 0)
		return CF_EINTERNAL;
	for (i = 0; i < 4; i++)
		if (e->dns_names[i][0])
			dns[n++] = e->dns_names[i];
	memset(&req, 0, sizeof(req));
	req.subject_key = key;
	req.subject_cn = e->subject;
	req.email = e->email[0] ? e->email : NULL;
	req.dns_names = n ? dns : NULL;
	req.ip_addrs = NULL;
	req.kind = strcmp(e->profile, "signing") == 0 ? CA_PROFILE_SIGNING : CA_PROFILE_DEVICE;
	req.now = now;
	req.validity_secs = validity;
	return ca_issue(c->ca, &req, out);
}

int core_cert_record(const struct ca_issued *is, const char *credential_id, struct store_cert *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->serial, sizeof(out->serial), "%s", is->serial);
	snprintf(out->credential_id, sizeof(out->credential_id), "%s", credential_id);
	out->status = CERT_VALID;
	out->reason = -1;
	out->not_before = is->not_before;
	out->not_after = is->not_after;
	out->revoked_at = 0;
	if (is->der_len > sizeof(out->der))
		return CF_EINTERNAL;
	memcpy(out->der, is->der, is->der_len);
	out->der_len = is->der_len;
	return 0;
}
