/*
 * acme — certflow-bench's ACME steps (--acme, spec/acme.md): the same certificates as the native
 * phases, through RFC 8555's resources. An issuance is newAccount with the enrolment's external
 * account binding, newOrder and finalize (three requests, timed together); a renewal is newOrder
 * and finalize with a new key.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_err.h"

/* POST payload to url as the worker's client; resp and Location (may be NULL) on success. */
static int acme_post(struct bench *b, int worker, const char *url, const struct bench_item *it,
		     const char *payload, cf_json **resp, char *location, size_t cap, double *ms,
		     const char *what)
{
	struct client_problem prob;
	struct http_response raw;
	double t0 = bench_now_ms();
	int ret;

	memset(&prob, 0, sizeof(prob));
	memset(&raw, 0, sizeof(raw));
	ret = client_post(b->cl[worker], url, it->account, it->kid[0] ? it->kid : NULL, payload,
			  resp, &raw, &prob);
	*ms += bench_now_ms() - t0;
	if (!ret && location)
		snprintf(location, cap, "%s", raw.location);
	http_response_clear(&raw);
	if (ret) {
		bench_fail(b, ret, "ACME %s: %s", what,
			   prob.detail[0] ? prob.detail : cf_strerror(ret));
		return ret;
	}
	if (!*resp) {
		bench_fail(b, CF_EPROTO, "ACME %s: the answer is not JSON", what);
		return CF_EPROTO;
	}
	return 0;
}

/* The externalAccountBinding JWS of RFC 8555 §7.3.4 for it's account key (malloc'd JSON). */
static char *binding(const char *url, const struct bench_item *it)
{
	char prot[800], *p64 = NULL, *j64 = NULL, *jwk_text = NULL, *input = NULL, *out = NULL;
	uint8_t mac[32];
	char sig[64];
	cf_json *jwk = NULL;
	size_t n;

	snprintf(prot, sizeof(prot), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"url\":\"%s\"}", it->ref,
		 url);
	if (cf_key_to_jwk(it->account, &jwk) || !(jwk_text = cf_json_print(jwk)) ||
	    !(p64 = cf_b64url_encode_alloc((const uint8_t *)prot, strlen(prot))) ||
	    !(j64 = cf_b64url_encode_alloc((const uint8_t *)jwk_text, strlen(jwk_text))))
		goto out;
	n = strlen(p64) + strlen(j64) + 2;
	if (!(input = malloc(n)))
		goto out;
	snprintf(input, n, "%s.%s", p64, j64);
	if (cf_hmac_sha256(it->eab, sizeof(it->eab), input, strlen(input), mac) ||
	    cf_b64url_encode(mac, sizeof(mac), sig, sizeof(sig), NULL))
		goto out;
	n += strlen(sig) + 64;
	if ((out = malloc(n)))
		snprintf(out, n, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
			 p64, j64, sig);
out:
	cf_json_free(jwk);
	free(jwk_text);
	free(p64);
	free(j64);
	free(input);
	return out;
}

int bench_acme_enrol_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	struct client_problem prob;
	char url[600], payload[200];
	const char *ref = NULL, *key = NULL;
	cf_json *resp = NULL;
	size_t n = 0;
	int ret;

	(void)ms;
	snprintf(url, sizeof(url), "%s/enrolment-create", BENCH_SRV(b, worker)->admin_url);
	snprintf(payload, sizeof(payload),
		 "{\"subject\":\"bench-%zu\",\"profile\":\"device\",\"acme\":true,"
		 "\"dnsNames\":[\"bench-%zu.example\"]}",
		 i, i);
	memset(&prob, 0, sizeof(prob));
	ret = client_post(b->cl[worker], url, b->admin, BENCH_SRV(b, worker)->admin_kid, payload,
			  &resp, NULL, &prob);
	if (!ret && (cf_json_get_str(resp, "eabKid", sizeof(it->ref) - 1, &ref) ||
		     cf_json_get_str(resp, "eabHmacKey", 64, &key) ||
		     cf_b64url_decode(key, strlen(key), it->eab, sizeof(it->eab), &n) ||
		     n != sizeof(it->eab)))
		ret = CF_EPROTO;
	if (ret)
		bench_fail(b, ret, "enrolment-create --acme: %s",
			   prob.detail[0] ? prob.detail : cf_strerror(ret));
	else
		strcpy(it->ref, ref);
	cf_json_free(resp);
	return ret;
}

/* newOrder for it's name, then finalize with CSR csr: the order valid. */
static int order_and_finalize(struct bench *b, int worker, size_t i, const char *csr, double *ms)
{
	struct bench_item *it = &b->items[i];
	char url[600], payload[200], fin[600];
	const char *f = NULL, *status = NULL;
	cf_json *resp = NULL;
	size_t cap = strlen(csr) + 32;
	char *body;
	int ret;

	snprintf(url, sizeof(url), "%s/acme/new-order", b->o.server);
	snprintf(payload, sizeof(payload),
		 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"bench-%zu.example\"}]}", i);
	ret = acme_post(b, worker, url, it, payload, &resp, NULL, 0, ms, "newOrder");
	if (!ret && cf_json_get_str(resp, "finalize", sizeof(fin) - 1, &f)) {
		bench_fail(b, CF_EPROTO, "%s", "ACME newOrder: no finalize URL");
		ret = CF_EPROTO;
	}
	if (!ret)
		strcpy(fin, f);
	cf_json_free(resp);
	resp = NULL;
	if (ret)
		return ret;
	if (!(body = malloc(cap))) {
		bench_fail(b, CF_ENOMEM, "%s", "out of memory");
		return CF_ENOMEM;
	}
	snprintf(body, cap, "{\"csr\":\"%s\"}", csr);
	ret = acme_post(b, worker, fin, it, body, &resp, NULL, 0, ms, "finalize");
	free(body);
	if (!ret && (cf_json_get_str(resp, "status", 16, &status) || strcmp(status, "valid"))) {
		bench_fail(b, CF_EPROTO, "%s", "ACME finalize: the order is not valid");
		ret = CF_EPROTO;
	}
	cf_json_free(resp);
	return ret;
}

int bench_acme_issue_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	char url[600], *eab, *payload;
	cf_json *resp = NULL;
	size_t cap;
	int ret;

	*ms = 0;
	snprintf(url, sizeof(url), "%s/acme/new-account", b->o.server);
	eab = binding(url, it);
	cap = eab ? strlen(eab) + 80 : 0;
	payload = eab ? malloc(cap) : NULL;
	if (!payload) {
		free(eab);
		bench_fail(b, CF_ENOMEM, "%s", "cannot make the external account binding");
		return CF_ENOMEM;
	}
	snprintf(payload, cap, "{\"termsOfServiceAgreed\":true,\"externalAccountBinding\":%s}",
		 eab);
	it->kid[0] = '\0';
	ret = acme_post(b, worker, url, it, payload, &resp, it->kid, sizeof(it->kid), ms,
			"newAccount");
	free(eab);
	free(payload);
	cf_json_free(resp);
	if (!ret && !it->kid[0]) {
		bench_fail(b, CF_EPROTO, "%s", "ACME newAccount: no Location");
		ret = CF_EPROTO;
	}
	return ret ? ret : order_and_finalize(b, worker, i, it->csr[0], ms);
}

int bench_acme_renew_step(struct bench *b, int worker, size_t i, double *ms)
{
	*ms = 0;
	return order_and_finalize(b, worker, i, b->items[i].csr[b->round], ms);
}
