/*
 * metrics — GET /metrics in the Prometheus text format (version 0.0.4; spec/protocol.md §29):
 * requests answered by route and status class, problems by type, certificates issued and
 * renewed, the outbox queue, the database size and the connections served. Counters are
 * atomics bumped by every request; labels hold route patterns and problem type names only,
 * never an identifier or a secret.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "core.h"

#define CLASSES 5 /* 1xx … 5xx */
#define CODES 64  /* -CF_E* */

struct metrics {
	const struct http_route *routes;
	size_t nroutes;
	uint64_t *requests; /* (nroutes + 1) × CLASSES; row nroutes: no route matched */
	uint64_t problems[CODES];
};

int metrics_new(const struct http_route *routes, metrics **out)
{
	metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return CF_ENOMEM;
	m->routes = routes;
	while (routes && routes[m->nroutes].method)
		m->nroutes++;
	m->requests = calloc((m->nroutes + 1) * CLASSES, sizeof(*m->requests));
	if (!m->requests) {
		free(m);
		return CF_ENOMEM;
	}
	*out = m;
	return 0;
}

void metrics_free(metrics *m)
{
	if (m)
		free(m->requests);
	free(m);
}

void metrics_count(metrics *m, const struct http_route *route, int status, int code)
{
	size_t row = route && m && route >= m->routes && route < m->routes + m->nroutes
			 ? (size_t)(route - m->routes)
		     : m ? m->nroutes
			 : 0;
	int class = status / 100;

	if (!m)
		return;
	if (class >= 1 && class <= CLASSES)
		__atomic_add_fetch(&m->requests[row * CLASSES + (size_t)(class - 1)], 1,
				   __ATOMIC_RELAXED);
	if (code < 0 && -code < CODES)
		__atomic_add_fetch(&m->problems[-code], 1, __ATOMIC_RELAXED);
}

int metrics_allowed(int mode, const char *remote)
{
	if (mode == 2)
		return 1;
	return mode == 1 && remote &&
	       (strncmp(remote, "127.", 4) == 0 || strcmp(remote, "::1") == 0 ||
		strncmp(remote, "::ffff:127.", 11) == 0);
}

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = CF_EINTERNAL;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		char *b = realloc(o->buf, o->cap * 2 + (size_t)n);
		if (!b) {
			o->err = CF_ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = o->cap * 2 + (size_t)n;
	}
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_render(metrics *m, struct core *core, int connections, char **text, size_t *len)
{
	struct out o = {.cap = 4096};
	struct core_metrics cm;

	if (!(o.buf = malloc(o.cap)))
		return CF_ENOMEM;
	family(&o, "certflow_http_requests_total", "counter",
	       "Requests answered, by route and status class.");
	for (size_t r = 0; m && r <= m->nroutes; r++) {
		for (int c = 0; c < CLASSES; c++) {
			uint64_t n = __atomic_load_n(&m->requests[r * CLASSES + (size_t)c],
						     __ATOMIC_RELAXED);
			if (!n)
				continue;
			if (r < m->nroutes)
				put(&o,
				    "certflow_http_requests_total{route=\"%s %s\",code=\"%dxx\"} "
				    "%" PRIu64 "\n",
				    m->routes[r].method, m->routes[r].pattern, c + 1, n);
			else
				put(&o,
				    "certflow_http_requests_total{route=\"other\",code=\"%dxx\"} "
				    "%" PRIu64 "\n",
				    c + 1, n);
		}
	}
	family(&o, "certflow_problems_total", "counter",
	       "Problem documents sent, by type (wrong codes, PINs, OTPs, answers, logins, ...).");
	for (int i = 1; m && i < CODES; i++) {
		uint64_t n = __atomic_load_n(&m->problems[i], __ATOMIC_RELAXED);
		if (n)
			put(&o, "certflow_problems_total{type=\"%s\"} %" PRIu64 "\n",
			    cf_err_problem(-i), n);
	}
	core_metrics(core, &cm);
	family(&o, "certflow_certificates_issued_total", "counter",
	       "Certificates issued by activation.");
	put(&o, "certflow_certificates_issued_total %" PRIu64 "\n", cm.issued);
	family(&o, "certflow_renewals_total", "counter", "Certificates issued by renewal.");
	put(&o, "certflow_renewals_total %" PRIu64 "\n", cm.renewed);
	family(&o, "certflow_outbox_queued", "gauge", "Messages waiting for delivery.");
	put(&o, "certflow_outbox_queued %" PRIu64 "\n", cm.outbox_queued);
	family(&o, "certflow_store_bytes", "gauge", "Octets of the database in use.");
	put(&o, "certflow_store_bytes %" PRIu64 "\n", cm.store_bytes);
	family(&o, "certflow_connections", "gauge", "TLS connections being served.");
	put(&o, "certflow_connections %d\n", connections);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*text = o.buf;
	*len = o.len;
	return 0;
}
