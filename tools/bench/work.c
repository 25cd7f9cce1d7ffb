/*
 * work — the phases of certflow-bench: worker threads with one keep-alive connection each, and
 * the steps they run (prepare keys and CSRs, create enrolment codes, activate, renew, read
 * renewal-info).
 */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_err.h"

struct worker_arg {
	struct bench *b;
	int id;
};

void bench_fail(struct bench *b, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->err_lock);
	if (!b->err) {
		b->err = code < 0 ? code : CF_EINTERNAL;
		va_start(ap, fmt);
		vsnprintf(b->err_text, sizeof(b->err_text), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&b->err_lock);
	atomic_store(&b->stop, 1);
}

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct bench *b = a->b;
	double ms;
	size_t i;

	while (!atomic_load(&b->stop)) {
		if (bench_now_ms() > (double)b->deadline_ms) {
			bench_fail(b, CF_ETIMEOUT, "deadline of %d s reached", b->o.timeout_s);
			break;
		}
		i = atomic_fetch_add(&b->next, 1);
		if (i >= b->n_steps)
			break;
		ms = 0;
		if (b->step(b, a->id, i, &ms) != 0)
			break;
		if (b->lat)
			b->lat[i] = ms;
		atomic_fetch_add(&b->done, 1);
	}
	return NULL;
}

int bench_phase(struct bench *b, bench_step step, size_t n, double *secs)
{
	pthread_t th[BENCH_MAX_CLIENTS];
	struct worker_arg args[BENCH_MAX_CLIENTS];
	int started = 0;
	double t0;

	b->step = step;
	b->n_steps = n;
	atomic_store(&b->next, 0);
	atomic_store(&b->done, 0);
	t0 = bench_now_ms();
	for (int w = 0; w < b->o.clients; w++) {
		args[w] = (struct worker_arg){b, w};
		if (pthread_create(&th[w], NULL, worker, &args[w]) != 0) {
			bench_fail(b, CF_EINTERNAL, "cannot start thread %d", w);
			break;
		}
		started++;
	}
	for (int w = 0; w < started; w++)
		pthread_join(th[w], NULL);
	*secs = (bench_now_ms() - t0) / 1000.0;
	if (!b->err && atomic_load(&b->done) != n)
		bench_fail(b, CF_EINTERNAL, "only %zu of %zu steps done", atomic_load(&b->done), n);
	return b->err;
}

static const char *problem_text(int code, const struct client_problem *prob)
{
	return prob->detail[0] ? prob->detail : cf_strerror(code);
}

/* New P-256 key, its CSR for cn as base64url (malloc'd); the key itself is not needed
 * afterwards. */
static int new_csr(const char *cn, char **out)
{
	cf_key *key = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int ret = cf_key_generate(CF_KEY_P256, 0, &key);

	if (!ret)
		ret = cf_csr_create(key, cn, &der, &len);
	if (!ret) {
		*out = cf_b64url_encode_alloc(der, len);
		ret = *out ? 0 : CF_ENOMEM;
	}
	free(der);
	cf_key_free(key);
	return ret;
}

int bench_prepare_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	char cn[64];
	int ret = cf_key_generate(CF_KEY_P256, 0, &it->account);

	(void)worker;
	(void)ms;
	/* an ACME order's CSR asks for the order's names: bench-<i>.example (acme.c) */
	snprintf(cn, sizeof(cn), b->acme ? "bench-%zu.example" : "certflow-bench", i);
	it->csr = calloc((size_t)b->o.renewals + 1, sizeof(char *));
	if (!ret && !it->csr)
		ret = CF_ENOMEM;
	for (int r = 0; !ret && r <= b->o.renewals; r++)
		ret = new_csr(cn, &it->csr[r]);
	if (ret)
		bench_fail(b, ret, "cannot make keys and CSRs: %s", cf_strerror(ret));
	return ret;
}

/* POST payload to url as the worker's client, timed; *resp on success. */
static int post(struct bench *b, int worker, const char *url, const cf_key *key, const char *kid,
		const char *payload, cf_json **resp, double *ms, const char *what)
{
	struct client_problem prob;
	double t0 = bench_now_ms();
	int ret;

	memset(&prob, 0, sizeof(prob));
	ret = client_post(b->cl[worker], url, key, kid, payload, resp, NULL, &prob);
	*ms = bench_now_ms() - t0;
	if (ret) {
		bench_fail(b, ret, "%s: %s", what, problem_text(ret, &prob));
		return ret;
	}
	if (!*resp) {
		bench_fail(b, CF_EPROTO, "%s: the answer is not JSON", what);
		return CF_EPROTO;
	}
	return 0;
}

int bench_enrol_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	char url[600], payload[128];
	const char *ref = NULL, *code = NULL;
	cf_json *resp = NULL;
	int ret;

	snprintf(url, sizeof(url), "%s/enrolment-create", BENCH_SRV(b, worker)->admin_url);
	snprintf(payload, sizeof(payload), "{\"subject\":\"bench-%zu\",\"profile\":\"device\"}", i);
	ret = post(b, worker, url, b->admin, BENCH_SRV(b, worker)->admin_kid, payload, &resp, ms,
		   "enrolment-create");
	if (ret)
		return ret;
	if (cf_json_get_str(resp, "reference", sizeof(it->ref) - 1, &ref) ||
	    cf_json_get_str(resp, "activationCode", sizeof(it->code) - 1, &code)) {
		bench_fail(b, CF_EPROTO, "enrolment-create: no reference or activation code");
		ret = CF_EPROTO;
	} else {
		strcpy(it->ref, ref);
		strcpy(it->code, code);
		cf_zeroize((char *)code, strlen(code));
	}
	cf_json_free(resp);
	return ret;
}

/* Remember what renewal needs from an activation or renewal answer. */
static int take_result(struct bench *b, struct bench_item *it, const cf_json *resp, int activation)
{
	const cf_json *cred = cf_json_get(resp, "credential");
	const cf_json *cert = cf_json_get(resp, "certificate");
	const char *acct = NULL, *id = NULL, *nb = NULL, *na = NULL, *ari = NULL;

	if ((activation && cf_json_get_str(resp, "account", sizeof(it->kid) - 1, &acct)) ||
	    cf_json_get_str(cred, "id", sizeof(it->cred) - 1, &id) ||
	    cf_json_get_str(cert, "renewalInfo", sizeof(it->ari) - 1, &ari) ||
	    cf_json_get_str(cert, "notBefore", 32, &nb) ||
	    cf_json_get_str(cert, "notAfter", 32, &na) || cf_time_parse(nb, &it->not_before) ||
	    cf_time_parse(na, &it->not_after)) {
		bench_fail(b, CF_EPROTO,
			   "the issuance answer lacks account, credential, renewal-info or times");
		return CF_EPROTO;
	}
	if (acct)
		strcpy(it->kid, acct);
	strcpy(it->cred, id);
	strcpy(it->ari, ari);
	return 0;
}

int bench_activate_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	size_t cap = strlen(it->csr[0]) + 200;
	char *payload = malloc(cap);
	cf_json *resp = NULL;
	int ret = payload ? 0 : CF_ENOMEM;

	if (ret) {
		bench_fail(b, ret, "out of memory");
		return ret;
	}
	snprintf(payload, cap, "{\"reference\":\"%s\",\"activationCode\":\"%s\",\"csr\":\"%s\"}",
		 it->ref, it->code, it->csr[0]);
	ret = post(b, worker, BENCH_SRV(b, worker)->activate_url, it->account, NULL, payload, &resp,
		   ms, "activate");
	it->srv = BENCH_SRV_OF(b, worker);
	cf_zeroize(payload, cap);
	free(payload);
	if (!ret)
		ret = take_result(b, it, resp, 1);
	cf_json_free(resp);
	return ret;
}

int bench_renew_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct bench_item *it = &b->items[i];
	const char *csr = it->csr[b->round];
	size_t cap = strlen(csr) + sizeof(it->cred) + 64;
	char *payload = malloc(cap);
	cf_json *resp = NULL;
	int ret = payload ? 0 : CF_ENOMEM;

	if (ret) {
		bench_fail(b, ret, "out of memory");
		return ret;
	}
	snprintf(payload, cap, "{\"credential\":\"%s\",\"csr\":\"%s\"}", it->cred, csr);
	/* the account URL names the server that activated it: renew there (another connection of
	 * this worker's client when that is another server) */
	ret = post(b, worker, b->srv[it->srv].renew_url, it->account, it->kid, payload, &resp, ms,
		   "renew");
	free(payload);
	if (!ret)
		ret = take_result(b, it, resp, 0);
	cf_json_free(resp);
	return ret;
}

int bench_renewal_info_step(struct bench *b, int worker, size_t i, double *ms)
{
	struct http_response r = {0};
	struct client_problem prob = {0};
	double t0 = bench_now_ms();
	int ret = client_get(b->cl[worker], b->items[i].ari, &r, &prob);

	*ms = bench_now_ms() - t0;
	if (!ret && r.status != 200)
		ret = CF_EPROTO;
	if (ret)
		bench_fail(b, ret, "renewal-info answered %d", r.status);
	http_response_clear(&r);
	return ret;
}
