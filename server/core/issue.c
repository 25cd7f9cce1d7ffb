/*
 * issue — what activation and renewal share: random ids, building the CA request from an
 * enrolment's names, and the certificate record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Milliseconds of the wall clock, strictly increasing within the process. */
static uint64_t monotonic_ms(void)
{
	static uint64_t last;
	struct timespec ts;
	uint64_t now, prev;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	prev = __atomic_load_n(&last, __ATOMIC_RELAXED);
	do {
		if (now <= prev)
			now = prev + 1;
	} while (
	    !__atomic_compare_exchange_n(&last, &prev, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return now;
}

/* A ULID: 48 bits of milliseconds then 80 random bits, as 26 Crockford base32 characters, so
 * that ids sort in creation order (the store lists an account's credentials by time, then id). */
int core_random_id(char out[STORE_ID_LEN])
{
	uint8_t b[17] = {0};
	uint64_t ms = monotonic_ms();
	unsigned bit, v;
	size_t i;

	for (i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	if (cf_random(b + 6, 10) != 0)
		return CF_ECRYPTO;
	/* 128 bits in 26 characters: the first character carries the top 3 bits */
	out[0] = crockford[b[0] >> 5];
	for (i = 1, bit = 3; i < 26; i++, bit += 5) {
		v = ((unsigned)b[bit / 8] << 8 | b[bit / 8 + 1]) >> (11 - bit % 8);
		out[i] = crockford[v & 31];
	}
	out[26] = '\0';
	cf_zeroize(b, sizeof(b));
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

int core_cert_has_key(const struct store_cert *cert, const uint8_t *spki, size_t len)
{
	return len > 0 && memmem(cert->der, cert->der_len, spki, len) != NULL;
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
