/*
 * ca_issue — end-entity certificates from the issuing CA: the three profiles, and the TLS server
 * credential certflowd serves with. Names come from the enrolment (never from a CSR) and are
 * checked, not escaped. Thread-safe: only reads the ca, and each call has its own writer.
 */
#include "ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509.h>

#include "cf_err.h"
#include "cf_file.h"

#define MAX_VALIDITY ((int64_t)100 * 366 * 86400) /* a sanity bound, not a policy */
#define SERVER_VALIDITY ((int64_t)365 * 86400)

static unsigned key_usage(enum ca_profile_kind kind, const cf_key *key)
{
	switch (kind) {
	case CA_PROFILE_SIGNING:
		return MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_NON_REPUDIATION;
	case CA_PROFILE_TLS_SERVER:
		/* RSA keys may still be used for TLS 1.2 RSA key transport. */
		if (mbedtls_pk_get_type(&key->pk) == MBEDTLS_PK_RSA)
			return MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
		return MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	default:
		return MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	}
}

static int check_req(const struct ca_issue_req *req)
{
	if (!req->subject_key || mbedtls_pk_get_type(&req->subject_key->pk) == MBEDTLS_PK_NONE)
		return CF_EBADKEY;
	if (req->kind != CA_PROFILE_DEVICE && req->kind != CA_PROFILE_SIGNING &&
	    req->kind != CA_PROFILE_TLS_SERVER)
		return CF_EMALFORMED;
	if (req->validity_secs <= 0 || req->validity_secs > MAX_VALIDITY)
		return CF_EMALFORMED;
	return ca_check_rdn_value(req->subject_cn);
}

int ca_issue(ca *c, const struct ca_issue_req *req, struct ca_issued *out)
{
	char subject[256];
	uint8_t eku_buf[32], *san = NULL;
	const uint8_t *eku = NULL;
	size_t san_len = 0, eku_len = 0;
	struct ca_issued res = {0};
	int ret;

	if (!c || !req || !out)
		return CF_EINTERNAL;
	if ((ret = check_req(req)) != 0)
		return ret;
	snprintf(subject, sizeof(subject), "CN=%s, O=%s", req->subject_cn, c->org);
	if ((ret = ca_ext_eku(req->kind, eku_buf, sizeof(eku_buf), &eku, &eku_len)) != 0 ||
	    (ret = ca_ext_san(req->email, req->dns_names, req->ip_addrs,
			      req->kind == CA_PROFILE_TLS_SERVER, &san, &san_len)) != 0)
		goto out;
	struct ca_crt_spec spec = {
	    .subject_pk = &req->subject_key->pk,
	    .subject = subject,
	    .issuer = c->issuer_name,
	    .issuer_key = c->issuing_key,
	    .aki = c->ski,
	    .aki_len = c->ski_len,
	    .is_ca = 0,
	    .max_pathlen = -1,
	    .key_usage = key_usage(req->kind, req->subject_key),
	    .eku = eku,
	    .eku_len = eku_len,
	    .san = san,
	    .san_len = san_len,
	    .crldp = c->crldp,
	    .crldp_len = c->crldp_len,
	    .not_before = req->now - (req->kind == CA_PROFILE_TLS_SERVER ? CA_BACKDATE_INFRA
									 : CA_BACKDATE_HOLDER),
	    .not_after = req->now + req->validity_secs,
	};
	if ((ret = ca_crt_write(&spec, res.serial, &res.der, &res.der_len)) != 0)
		goto out;
	res.not_before = spec.not_before;
	res.not_after = spec.not_after;
	*out = res;
out:
	free(san);
	return ret;
}

/* cert PEM || issuing CA PEM || key PEM, in one allocation the caller wipes. */
static int server_pem(const ca *c, const struct ca_issued *crt, cf_key *key, char **pem,
		      size_t *len)
{
	unsigned char kpem[2048];
	char *cpem = NULL, *all = NULL;
	size_t cl, kl, il = c->issuing_pem_len;
	int ret;

	if ((ret = ca_pem_encode("CERTIFICATE", crt->der, crt->der_len, &cpem)) != 0)
		return ret;
	ret = CF_ECRYPTO;
	if (mbedtls_pk_write_key_pem(&key->pk, kpem, sizeof(kpem)) != 0)
		goto out;
	cl = strlen(cpem);
	kl = strlen((char *)kpem);
	ret = CF_ENOMEM;
	if (!(all = malloc(cl + il + kl + 1)))
		goto out;
	memcpy(all, cpem, cl);
	memcpy(all + cl, c->chain_pem, il);
	memcpy(all + cl + il, kpem, kl + 1);
	*pem = all;
	*len = cl + il + kl;
	ret = 0;
out:
	mbedtls_platform_zeroize(kpem, sizeof(kpem));
	free(cpem);
	return ret;
}

int ca_write_server_pem(ca *c, const char *const *dns_names, const char *const *ip_addrs,
			int64_t now, const char *path)
{
	const char *cn = dns_names && dns_names[0] ? dns_names[0]
			 : ip_addrs && ip_addrs[0] ? ip_addrs[0]
						   : NULL;
	struct ca_issued crt = {0};
	cf_key *key = NULL;
	char *pem = NULL;
	size_t len = 0;
	int ret;

	if (!c || !cn || !path)
		return CF_EMALFORMED;
	if ((ret = cf_key_generate(CF_KEY_P256, 0, &key)) != 0)
		return ret;
	struct ca_issue_req req = {
	    .subject_key = key,
	    .subject_cn = cn,
	    .dns_names = dns_names,
	    .ip_addrs = ip_addrs,
	    .kind = CA_PROFILE_TLS_SERVER,
	    .now = now,
	    .validity_secs = SERVER_VALIDITY,
	};
	if ((ret = ca_issue(c, &req, &crt)) != 0 ||
	    (ret = server_pem(c, &crt, key, &pem, &len)) != 0)
		goto out;
	ret = cf_file_write(path, pem, len, 0600, 0);
out:
	if (pem)
		cf_zeroize(pem, len);
	free(pem);
	free(crt.der);
	cf_key_free(key);
	return ret;
}
