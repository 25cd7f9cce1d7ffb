/*
 * ca — opening the CA: the root and issuing key pairs and certificates in the CA directory,
 * created on first start and checked on every later one. Never overwrites a file, and refuses
 * to start when a key does not match its certificate or the issuing CA does not chain to the
 * root. Issuance is in ca_issue.c, CSR checks in csr.c, CRLs in crl.c.
 */
#include "ca_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/x509.h>

#include "cf_err.h"
#include "cf_file.h"
#include "cf_log.h"

#define ROOT_VALIDITY ((int64_t)7305 * 86400)	 /* 20 years */
#define ISSUING_VALIDITY ((int64_t)3653 * 86400) /* 10 years */

/* One CA level: its key pair and certificate as loaded or created. */
struct level {
	const char *base; /* file name stem: "root", "issuing" */
	const char *cn;
	cf_key *key;	  /* NULL: the root's key kept offline (key_optional) */
	int key_optional; /* the certificate may come without its key */
	mbedtls_x509_crt *crt;
	char name[512]; /* subject as an mbedTLS name string, checked to re-encode exactly */
	uint8_t ski[CA_SKI_MAX];
	size_t ski_len;
};

/*
 * The subject of crt as the string x509write wants, and proof that writing that string back
 * gives the very same DER: issued certificates must name their issuer byte for byte. (dn_gets
 * turns non-ASCII into '?', hence the ASCII-only organisation name.)
 */
static int name_string(const mbedtls_x509_crt *crt, char *out, size_t cap)
{
	mbedtls_asn1_named_data *names = NULL;
	unsigned char buf[1024], *p = buf + sizeof(buf);
	int n, ret = CF_EINTERNAL;

	if (mbedtls_x509_dn_gets(out, cap, &crt->subject) < 0 ||
	    mbedtls_x509_string_to_names(&names, out) != 0)
		goto out;
	n = mbedtls_x509_write_names(&p, buf, names);
	if (n < 0 || (size_t)n != crt->subject_raw.len || memcmp(p, crt->subject_raw.p, n) != 0) {
		cf_error("ca: the CA subject \"%s\" does not re-encode to its DER", out);
		goto out;
	}
	ret = 0;
out:
	mbedtls_asn1_free_named_data_list(&names);
	return ret;
}

static int load_crt(const char *path, mbedtls_x509_crt *crt)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if ((ret = cf_file_read(path, CA_CRT_MAX, &buf, &len)) != 0)
		return ret;
	ret = CF_EIO;
	if (mbedtls_x509_crt_parse(crt, (unsigned char *)buf, len + 1) != 0 || crt->next ||
	    !crt->ca_istrue)
		cf_error("ca: %s is not one CA certificate", path);
	else
		ret = 0;
	free(buf);
	return ret;
}

/* The key in the file is the certificate's: same public key, and it signs what the
 * certificate's key verifies (so the private half is sound too). */
static int check_pair(const cf_key *key, mbedtls_x509_crt *crt)
{
	static const char probe[] = "certflow CA key check";
	unsigned char a[256], b[256];
	uint8_t sig[128], hash[32];
	size_t sig_len = 0;
	int na, nb;

	na = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&key->pk, a, sizeof(a));
	nb = mbedtls_pk_write_pubkey_der(&crt->pk, b, sizeof(b));
	if (na <= 0 || na != nb || memcmp(a + sizeof(a) - na, b + sizeof(b) - nb, na) != 0)
		return CF_EBADKEY;
	if (ca_ecdsa_sign_der(key, (const uint8_t *)probe, sizeof(probe) - 1, sig, sizeof(sig),
			      &sig_len) != 0 ||
	    cf_sha256(probe, sizeof(probe) - 1, hash) != 0 ||
	    mbedtls_pk_verify(&crt->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sig_len) != 0)
		return CF_EBADKEY;
	return 0;
}

/* Create the certificate of lv (self-signed when parent is NULL) and write it, never replacing. */
static int create_crt(const struct level *lv, const struct level *parent, const char *org,
		      const char *path)
{
	int64_t now = (int64_t)time(NULL);
	char subject[256], serial[48], *pem = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int ret;
	struct ca_crt_spec spec = {
	    .subject_pk = &lv->key->pk,
	    .subject = subject,
	    .issuer = parent ? parent->name : NULL,
	    .issuer_key = parent ? parent->key : lv->key,
	    .aki = parent ? parent->ski : NULL,
	    .aki_len = parent ? parent->ski_len : 0,
	    .is_ca = 1,
	    .max_pathlen = parent ? 0 : -1,
	    .key_usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
	    .not_before = now - CA_BACKDATE_INFRA,
	    .not_after = now + (parent ? ISSUING_VALIDITY : ROOT_VALIDITY),
	};

	snprintf(subject, sizeof(subject), "CN=%s, O=%s", lv->cn, org);
	if ((ret = ca_crt_write(&spec, serial, &der, &der_len)) != 0 ||
	    (ret = ca_pem_encode("CERTIFICATE", der, der_len, &pem)) != 0 ||
	    (ret = cf_file_write(path, pem, strlen(pem), 0644, 1)) != 0)
		goto out;
	cf_info("ca: created %s (serial %s)", path, serial);
out:
	free(pem);
	free(der);
	return ret;
}

static int open_key(const char *path, int exists, cf_key **key)
{
	int ret;

	if (exists)
		return cf_key_load(path, key);
	if ((ret = cf_key_generate(CF_KEY_P256, 0, key)) != 0)
		return ret;
	if ((ret = cf_key_save(*key, path)) != 0) {
		cf_key_free(*key);
		*key = NULL;
	}
	return ret;
}

/* Load or create one level: key first (a crash before the certificate leaves a key that the
 * next start certifies), then the certificate, then the checks. */
static int open_level(const char *dir, const char *org, const struct level *parent,
		      struct level *lv)
{
	char kpath[4096], cpath[4096];
	int have_key, have_crt, ret;

	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, lv->base) >= sizeof(kpath) ||
	    (size_t)snprintf(cpath, sizeof(cpath), "%s/%s.pem", dir, lv->base) >= sizeof(cpath))
		return CF_EIO;
	have_key = ca_file_exists(kpath);
	have_crt = ca_file_exists(cpath);
	if (have_crt && !have_key && !lv->key_optional) {
		cf_error("ca: %s exists without %s: refusing to start", cpath, kpath);
		return CF_EIO;
	}
	if (have_crt && !have_key) { /* the root's key kept offline: its certificate is enough */
		cf_info("ca: %s without its key (kept offline): the issuing CA signs", cpath);
		if ((ret = load_crt(cpath, lv->crt)) != 0)
			return ret;
		goto named;
	}
	if ((ret = open_key(kpath, have_key, &lv->key)) != 0)
		return ret;
	if (cf_key_type(lv->key) != CF_KEY_P256) {
		cf_error("ca: %s is not a P-256 key", kpath);
		return CF_EBADKEY;
	}
	if (!have_crt && (ret = create_crt(lv, parent, org, cpath)) != 0)
		return ret;
	if ((ret = load_crt(cpath, lv->crt)) != 0)
		return ret;
	if ((ret = check_pair(lv->key, lv->crt)) != 0) {
		cf_error("ca: %s does not match %s: refusing to start", kpath, cpath);
		return ret;
	}
named:
	if ((ret = name_string(lv->crt, lv->name, sizeof(lv->name))) != 0)
		return ret;
	if (ca_crt_find_ski(lv->crt, lv->ski, &lv->ski_len) != 0) {
		if ((ret = ca_key_id(&lv->crt->pk, lv->ski)) != 0)
			return ret;
		lv->ski_len = 20;
	}
	return 0;
}

/* Both the key and the certificate of lv are in dir. */
static int level_files_exist(const char *dir, const struct level *lv)
{
	char kpath[4096], cpath[4096];

	return (size_t)snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, lv->base) < sizeof(kpath) &&
	       (size_t)snprintf(cpath, sizeof(cpath), "%s/%s.pem", dir, lv->base) < sizeof(cpath) &&
	       ca_file_exists(kpath) && ca_file_exists(cpath);
}

/* The issuing CA must be signed by the root (a root re-created beside an old issuing CA is
 * caught here). Expiry is only warned about: the operator must see it, not lose the server. */
static int check_chain(struct level *root, struct level *issuing)
{
	const uint32_t time_flags = MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE;
	uint32_t flags = 0;

	if (mbedtls_x509_crt_verify(issuing->crt, root->crt, NULL, NULL, &flags, NULL, NULL) != 0) {
		if (flags & ~time_flags) {
			cf_error("ca: issuing CA does not chain to the root (flags %#x)",
				 (unsigned)flags);
			return CF_EBADSIG;
		}
		cf_warn("ca: a CA certificate is expired or not yet valid (flags %#x)",
			(unsigned)flags);
	}
	return 0;
}

static int set_chain(ca *c, const mbedtls_x509_crt *root)
{
	char *ipem = NULL, *rpem = NULL;
	uint8_t hash[32];
	size_t il, rl;
	int ret;

	if ((ret = ca_pem_encode("CERTIFICATE", c->issuing_crt.raw.p, c->issuing_crt.raw.len,
				 &ipem)) != 0 ||
	    (ret = ca_pem_encode("CERTIFICATE", root->raw.p, root->raw.len, &rpem)) != 0)
		goto out;
	il = strlen(ipem);
	rl = strlen(rpem);
	ret = CF_ENOMEM;
	if (!(c->chain_pem = malloc(il + rl + 1)))
		goto out;
	memcpy(c->chain_pem, ipem, il);
	memcpy(c->chain_pem + il, rpem, rl + 1);
	c->issuing_pem_len = il;
	if ((ret = cf_sha256(root->raw.p, root->raw.len, hash)) != 0)
		goto out;
	memcpy(c->fingerprint, "sha256:", 7);
	for (size_t i = 0; i < sizeof(hash); i++)
		snprintf(c->fingerprint + 7 + 2 * i, 3, "%02x", hash[i]);
	ret = 0;
out:
	free(ipem);
	free(rpem);
	return ret;
}

static int check_opts(const char *org, const char *url)
{
	if (ca_check_rdn_value(org) != 0)
		return CF_EMALFORMED;
	for (const char *p = org; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return CF_EMALFORMED;
	if (url && ca_check_url(url) != 0)
		return CF_EMALFORMED;
	return 0;
}

static int open_levels(ca *c, const char *dir, const char *org)
{
	mbedtls_x509_crt root_crt;
	struct level root = {.base = "root", .cn = "certflow Root CA", .crt = &root_crt};
	struct level issuing = {
	    .base = "issuing", .cn = "certflow Issuing CA", .crt = &c->issuing_crt};
	mbedtls_pk_context *signer;
	int ret;

	mbedtls_x509_crt_init(&root_crt);
	/* the root's key signs only the issuing CA's certificate: once that exists with its key,
	 * the root key may live offline (several front ends need not hold it) */
	root.key_optional = level_files_exist(dir, &issuing);
	/* the issuing key's signing context is made here, not by the first request */
	if ((ret = open_level(dir, org, NULL, &root)) != 0 ||
	    (ret = open_level(dir, org, &root, &issuing)) != 0 ||
	    (ret = check_chain(&root, &issuing)) != 0 || (ret = set_chain(c, &root_crt)) != 0 ||
	    (ret = cf_key_signer(issuing.key, &signer)) != 0)
		goto out;
	memcpy(c->issuer_name, issuing.name, sizeof(c->issuer_name));
	memcpy(c->ski, issuing.ski, issuing.ski_len);
	c->ski_len = issuing.ski_len;
	c->issuing_key = issuing.key;
	issuing.key = NULL;
out:
	cf_key_free(root.key); /* the root key is needed only to create the issuing CA */
	cf_key_free(issuing.key);
	mbedtls_x509_crt_free(&root_crt);
	return ret;
}

int ca_open(const char *dir, const struct ca_opts *opts, ca **out)
{
	const char *org = opts && opts->name ? opts->name : "certflow";
	const char *url = opts && opts->crl_url && *opts->crl_url ? opts->crl_url : NULL;
	int ret, lock = -1;
	ca *c;

	if (!dir || !out)
		return CF_EINTERNAL;
	if ((ret = check_opts(org, url)) != 0)
		return ret;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return CF_EIO;
	if (!(c = calloc(1, sizeof(*c))))
		return CF_ENOMEM;
	mbedtls_x509_crt_init(&c->issuing_crt);
	ret = CF_ENOMEM;
	if (!(c->org = strdup(org)))
		goto out;
	if (url && (ret = ca_ext_crldp(url, &c->crldp, &c->crldp_len)) != 0)
		goto out;
	if ((ret = ca_file_lock(dir, &lock)) != 0 || (ret = open_levels(c, dir, org)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	ca_file_unlock(lock);
	ca_free(c);
	return ret;
}

void ca_free(ca *c)
{
	if (!c)
		return;
	cf_key_free(c->issuing_key);
	mbedtls_x509_crt_free(&c->issuing_crt);
	free(c->org);
	free(c->crldp);
	free(c->chain_pem);
	free(c);
}

const char *ca_chain_pem(const ca *c)
{
	return c->chain_pem;
}

const char *ca_root_fingerprint(const ca *c)
{
	return c->fingerprint;
}

const uint8_t *ca_issuer_key_id(const ca *c, size_t *len)
{
	*len = c->ski_len;
	return c->ski;
}
