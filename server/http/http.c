/*
 * http — CivetWeb glue, the only file that includes civetweb.h. One catch-all handler per
 * request: framing rules → route table → media type → body (bounded) → JWS envelope → handler →
 * one mg_write of the whole response with a fresh Replay-Nonce. CivetWeb never serves files
 * (no document_root) and its form handling is never used.
 */
#include "http.h"

#include <civetweb.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cf_crypto.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_log.h"
#include "envelope.h"
#include "guard.h"
#include "metrics.h"
#include "nonce.h"
#include "problem.h"

struct http_server {
	struct mg_context *mg;
	const struct http_route *routes;
	const struct http_route_problems *problems;
	nonce_store *nonces;
	struct core *core;
	char base_url[HTTP_MAX_URL];
	int ready; /* read and written with __atomic builtins */
	guard *guard;
	int body_timeout_ms;
	char wake_host[64]; /* an address of the listener to connect to: see http_stop */
	int ports[4], nports;
	int stopped; /* __atomic: mg_stop returned */
	metrics *metrics;
	int metrics_mode; /* http_opts.metrics */
};

/* What this worker thread knows of the TLS connection it serves: CivetWeb serves a connection
 * in one worker from its handshake to its close, and tells its address to no callback before a
 * request head has come; OpenSSL's handshake callback gives the socket as soon as the worker
 * takes the connection. Set at the handshake's start, cleared when the connection closes. */
static __thread struct {
	int active;  /* the fields below describe the current connection */
	int fd;	     /* its socket */
	int counted; /* guard_enter let it in */
	int refused; /* else CF_ERATELIMIT or CF_EUNAVAILABLE */
	int watch;   /* the deadline of a refused connection's handshake, -1 none */
	char peer[GUARD_ADDR_MAX];
} cur;

/* The connection, for the guard: its socket when the handshake told it, else its addresses. */
static struct guard_conn guard_conn_of(const struct mg_request_info *ri)
{
	struct guard_conn c = {cur.active ? cur.fd : -1, ri->remote_addr, ri->remote_port,
			       ri->server_port};
	return c;
}

/* The whole body, Content-Length framed (len ≥ 0) or chunked (len < 0; CivetWeb decodes it), at
 * most HTTP_MAX_BODY octets: CF_ETOOLARGE beyond, CF_EMALFORMED if the peer stops short or the
 * body has not come within body_timeout_ms (then resp->detail says so). */
static int read_body(struct http_server *srv, struct mg_connection *conn, long long len,
		     struct http_resp *resp, char **out, size_t *out_len)
{
	size_t want = len >= 0 ? (size_t)len : HTTP_MAX_BODY + 1, got = 0;
	struct guard_conn c = guard_conn_of(mg_get_request_info(conn));
	char *buf = malloc(want + 1);
	int n, watch, late;

	if (!buf)
		return CF_ENOMEM;
	/* CivetWeb bounds each wait for data, not the whole body: a client trickling one byte at a
	 * time would hold this worker for ever. The guard cuts the read off at the deadline. */
	watch = guard_arm(srv->guard, &c, srv->body_timeout_ms);
	while (got < want) {
		n = mg_read(conn, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	late = guard_disarm(srv->guard, watch);
	if (late || (len >= 0 && got != want) || (len < 0 && got > HTTP_MAX_BODY)) {
		cf_zeroize(buf, got);
		free(buf);
		if (late)
			snprintf(resp->detail, sizeof(resp->detail),
				 "the request body did not arrive in time");
		return !late && len < 0 && got > HTTP_MAX_BODY ? CF_ETOOLARGE : CF_EMALFORMED;
	}
	buf[got] = '\0';
	*out = buf;
	*out_len = got;
	return 0;
}

/* A JWS route: media type, body, envelope, handler. */
static int serve_jws(struct http_server *srv, struct mg_connection *conn,
		     const struct mg_request_info *ri, const struct http_route *route,
		     struct http_req *req, struct http_resp *resp)
{
	struct envelope *env;
	char *body = NULL;
	size_t len = 0;
	int ret;

	if (!http_is_jose_json(mg_get_header(conn, "Content-Type"))) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "Content-Type must be "
			 "application/jose+json");
		return CF_EMEDIATYPE;
	}
	ret = read_body(srv, conn, ri->content_length, resp, &body, &len);
	if (ret != 0) {
		resp->close = 1;
		return ret;
	}
	if (len == 0) {
		snprintf(resp->detail, sizeof(resp->detail), "the request body is empty");
		free(body);
		return CF_EMALFORMED;
	}
	env = malloc(sizeof(*env));
	if (!env) {
		cf_zeroize(body, len);
		free(body);
		return CF_ENOMEM;
	}
	ret = envelope_check(body, len, route->auth, srv->base_url, req->path, srv->nonces,
			     srv->core, env, resp->detail, sizeof(resp->detail));
	if (ret == 0) {
		req->jws = &env->jws;
		req->payload = env->payload;
		if (env->account.id[0]) {
			req->account = &env->account;
			req->account_url = env->account_url;
		}
		ret = route->fn(req, resp);
	}
	envelope_clear(env);
	free(env);
	/* the body may carry an activation code (POST /v1/activate) */
	cf_zeroize(body, len);
	free(body);
	return ret;
}

/* "Authorization: Bearer <token>" → the token (b64token of RFC 6750), "" when absent. */
static const char *bearer_token(struct mg_connection *conn)
{
	const char *h = mg_get_header(conn, "Authorization");

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return "";
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

/* A bearer route (§23.1): plain JSON body (optional: an empty POST is an empty object), the
 * token handed to the handler, which checks it. */
static int serve_bearer(struct http_server *srv, struct mg_connection *conn,
			const struct mg_request_info *ri, const struct http_route *route,
			struct http_req *req, struct http_resp *resp)
{
	cf_json *doc = NULL;
	char *body = NULL;
	size_t len = 0;
	int ret;

	ret = read_body(srv, conn, ri->content_length, resp, &body, &len);
	if (ret != 0) {
		resp->close = 1;
		return ret;
	}
	if (len > 0 && !http_is_json(mg_get_header(conn, "Content-Type"))) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "Content-Type must be application/json");
		ret = CF_EMEDIATYPE;
	} else if (len > 0 && (cf_json_parse(body, len, &doc) != 0 || !cf_json_is_object(doc))) {
		snprintf(resp->detail, sizeof(resp->detail), "the body is not a JSON object");
		ret = CF_EMALFORMED;
	} else {
		req->payload = doc;
		req->bearer = bearer_token(conn);
		ret = route->fn(req, resp);
	}
	cf_json_free(doc);
	/* the body carries passwords, PINs, PUKs and OTPs */
	cf_zeroize(body, len);
	free(body);
	return ret;
}

/* Did the field name end in whitespace before the colon ("Transfer-Encoding : chunked")?
 * CivetWeb 1.15 accepts such a line and drops the spaces, but RFC 9112 §5.1 says to reject it:
 * a proxy in front may read the field differently. CivetWeb parses the head in place, writing a
 * NUL over the first space and over the colon; after a plain "Name:" the byte after the name's
 * NUL is already part of the value or the whitespace before it, never a second NUL. */
static int name_had_space(const struct mg_header *h)
{
	const char *end = h->name + strlen(h->name);

	return end + 1 < h->value && end[1] == '\0';
}

/* The framing headers as sent, checked for what CivetWeb would silently resolve (it uses the
 * first of two Content-Length fields): 0, or -1 when a field name has whitespace before its
 * colon or Content-Length or Transfer-Encoding comes more than once. */
static int framing_fields(const struct mg_request_info *ri, const char **cl, const char **te)
{
	*cl = NULL;
	*te = NULL;
	for (int i = 0; i < ri->num_headers; i++) {
		const struct mg_header *h = &ri->http_headers[i];
		const char **slot = strcasecmp(h->name, "Content-Length") == 0	    ? cl
				    : strcasecmp(h->name, "Transfer-Encoding") == 0 ? te
										    : NULL;

		if (name_had_space(h))
			return -1;
		if (slot && *slot)
			return -1;
		if (slot)
			*slot = h->value;
	}
	return 0;
}

/* Content-Length as sent: -1 when absent, -2 when not a decimal number (CivetWeb would take
 * "12x" for 12 and wait for a body that never comes; "0x5" for 0, and the rest would be read as
 * the next request). */
static long long content_length(const char *cl, const struct mg_request_info *ri)
{
	size_t n;

	if (!cl)
		return -1;
	n = strspn(cl, "0123456789");
	if (n == 0 || n > 18 || cl[n + strspn(cl + n, " \t")] != '\0')
		return -2;
	return ri->content_length >= 0 ? ri->content_length : 0;
}

/* GET /metrics (metrics.c): outside the protocol's routes, for the operator's monitoring. */
static int serve_metrics(struct http_server *srv, const struct mg_request_info *ri,
			 struct http_resp *resp)
{
	if (!metrics_allowed(srv->metrics_mode, ri->remote_addr))
		return CF_ENOTFOUND; /* as an unknown route: nothing to learn from outside */
	if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
		snprintf(resp->allow, sizeof(resp->allow), "GET, HEAD");
		return CF_EMETHOD;
	}
	resp->head_only = strcmp(ri->request_method, "HEAD") == 0;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->status = 200;
	return metrics_render(srv->metrics, srv->core, guard_served(srv->guard), &resp->body,
			      &resp->body_len);
}

/* Serve one request; *route is the route it matched (NULL: none). */
static int dispatch(struct http_server *srv, struct mg_connection *conn,
		    const struct mg_request_info *ri, struct http_resp *resp, int *status,
		    const struct http_route **matched)
{
	const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
	const struct http_route *route = NULL;
	struct http_req req;
	char param[HTTP_MAX_URL];
	const char *p = NULL;
	size_t plen = 0;
	const char *cl_text, *te;
	long long cl;
	int ret;

	*status = 0;
	resp->acme = path && strncmp(path, "/acme/", 6) == 0;
	if (!__atomic_load_n(&srv->ready, __ATOMIC_ACQUIRE))
		return CF_EUNAVAILABLE;
	/* The headers as sent: CivetWeb drops Content-Length in favour of chunked encoding. */
	if (framing_fields(ri, &cl_text, &te) != 0)
		cl = -2;
	else
		cl = content_length(cl_text, ri);
	ret = cl == -2 ? (*status = 400, CF_EMALFORMED)
		       : http_check_framing(ri->request_method, cl, te, status);
	if (ret != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "%s",
			 ret == CF_ETOOLARGE ? "the request body is larger than 64 KiB"
					     : "the request body is not framed by Content-Length "
					       "or chunked encoding alone");
		resp->close = 1;
		return ret;
	}
	if (!path || strlen(path) >= HTTP_MAX_URL)
		return CF_ENOTFOUND;
	if (strcmp(path, "/metrics") == 0 && srv->metrics)
		return serve_metrics(srv, ri, resp);
	ret = http_route_find(srv->routes, ri->request_method, path, &route, &p, &plen);
	*matched = route;
	if (ret == CF_EMETHOD)
		http_route_allow(srv->routes, path, resp->allow, sizeof(resp->allow));
	if (ret != 0)
		return ret;
	memcpy(param, p, plen);
	param[plen] = '\0';
	memset(&req, 0, sizeof(req));
	req.method = ri->request_method;
	req.path = path;
	req.param = param;
	req.core = srv->core;
	req.remote_addr = ri->remote_addr;
	req.base_url = srv->base_url;
	resp->head_only = strcmp(ri->request_method, "HEAD") == 0;
	if (route->auth == HTTP_AUTH_NONE)
		return route->fn(&req, resp);
	if (route->auth == HTTP_AUTH_BEARER)
		return serve_bearer(srv, conn, ri, route, &req, resp);
	return serve_jws(srv, conn, ri, route, &req, resp);
}

static void send_resp(struct http_server *srv, struct mg_connection *conn, struct http_resp *resp)
{
	char nonce[NONCE_LEN + 1], link[3 * HTTP_MAX_URL];
	char *wire = NULL;
	size_t len = 0;

	if (resp->no_nonce || nonce_issue(srv->nonces, nonce) != 0)
		nonce[0] = '\0';
	/* RFC 8555 §7.1: every ACME resource links its directory */
	if (resp->acme && !resp->headers) {
		int n = snprintf(link, sizeof(link), "Link: <%s/acme/directory>;rel=\"index\"\r\n",
				 srv->base_url);

		/* a challenge links its authorization (RFC 8555 §7.5.1) */
		if (resp->link_up[0] && n > 0 && (size_t)n < sizeof(link))
			snprintf(link + n, sizeof(link) - (size_t)n, "Link: <%s>;rel=\"up\"\r\n",
				 resp->link_up);
		resp->headers = link;
	}
	if (http_build_response(resp, nonce[0] ? nonce : NULL, &wire, &len) != 0) {
		static const char fail[] = "HTTP/1.1 500 Internal Server Error\r\n"
					   "Content-Length: 0\r\nConnection: close\r\n\r\n";
		mg_write(conn, fail, sizeof(fail) - 1);
		return;
	}
	mg_write(conn, wire, len); /* one write: headers and body together */
	cf_zeroize(wire, len);	   /* enrolment-create answers carry the activation code */
	free(wire);
}

/* Read and drop what is left of a body that fitted the framing rules (none when the handler
 * read it), so that the connection can carry the next request: 0, or -1 when the body did not
 * come whole in time or is chunked beyond HTTP_MAX_BODY (the connection must then close). */
static int drain(struct http_server *srv, struct mg_connection *conn,
		 const struct mg_request_info *ri)
{
	struct guard_conn c = guard_conn_of(ri);
	char scratch[4096];
	long long got = 0;
	int watch, n;

	if (ri->content_length <= 0 && !mg_get_header(conn, "Transfer-Encoding"))
		return 0;
	watch = guard_arm(srv->guard, &c, srv->body_timeout_ms);
	/* mg_read says 0 once the body is all read */
	while ((n = mg_read(conn, scratch, sizeof(scratch))) > 0 && got <= HTTP_MAX_BODY)
		got += n;
	if (guard_disarm(srv->guard, watch) || n < 0 || got > HTTP_MAX_BODY)
		return -1;
	return 0;
}

/* Authorization is the handlers' (JWS, sessions, the admin key): without this, CivetWeb looks
 * for a "/.htpasswd" at every request (a stat that fails) and would ask for HTTP basic auth if
 * one appeared. */
static int on_authorize(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
	struct http_server *srv = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const struct http_route *matched = NULL;
	struct http_resp resp;
	int ret, status = 0, head;

	memset(&resp, 0, sizeof(resp));
	cf_clock_pin(); /* one time per request (a test clock file is read once) */
	ret = dispatch(srv, conn, ri, &resp, &status, &matched);
	/* spec/errors.md lists what each resource answers: say so when it answers something else */
	if (ret != 0 && matched && !http_route_declares(srv->problems, matched, ret))
		cf_warn("undeclared problem: %s %s answered %s (spec/errors.md, Resources)",
			matched->method, matched->pattern,
			cf_err_problem(cf_err_status(ret) > 0 ? ret : CF_EINTERNAL));
	/* A request whose framing or size was refused leaves bytes that must never be read as the
	 * next request (request smuggling) nor absorbed (a 512 MiB body after a 413): CivetWeb then
	 * neither discards the rest of the body nor keeps the connection alive, and closes it. */
	if (resp.close || drain(srv, conn, ri) != 0)
		mg_disable_connection_keep_alive(conn);
	if (ret != 0) {
		head = resp.head_only;
		if (problem_fill(&resp, ret, status, resp.detail, resp.retry_at) != 0) {
			cf_zeroize(resp.body, resp.body_len);
			free(resp.body);
			resp.body = NULL;
			resp.body_len = 0;
			resp.status = 500;
		}
		resp.head_only = head;
	}
	send_resp(srv, conn, &resp);
	metrics_count(srv->metrics, matched, resp.status ? resp.status : 200, ret);
	cf_debug("%s %s %d", ri->request_method, ri->local_uri ? ri->local_uri : "?",
		 resp.status ? resp.status : 200);
	cf_zeroize(resp.body, resp.body_len);
	free(resp.body);
	cf_json_free(resp.extra); /* a handler that succeeded after all */
	cf_clock_unpin();
	return resp.status ? resp.status : 200;
}

/* How long a refused client has to finish its handshake and read why it is refused. */
#define HTTP_REFUSE_HANDSHAKE_MS 250

/* OpenSSL's info callback: at the start of a handshake, count the connection for its address
 * before anything is read, so that clients that connect and send nothing count too. */
static void on_tls_info(const SSL *ssl, int where, int ret)
{
	struct http_server *srv = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct guard_conn c = {-1, NULL, 0, 0};

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START) || cur.active || !srv)
		return;
	memset(&cur, 0, sizeof(cur));
	cur.active = 1;
	cur.watch = -1;
	cur.fd = SSL_get_fd(ssl);
	if (cur.fd < 0 || guard_peer_of(cur.fd, cur.peer, sizeof(cur.peer)) != 0)
		return; /* not an IP socket: not counted */
	cur.refused = guard_enter(srv->guard, cur.peer);
	cur.counted = cur.refused == 0;
	if (cur.refused) {
		/* a client that does not finish its handshake is cut off soon, not at the head
		 * timeout: it must not hold this worker */
		c.fd = cur.fd;
		cur.watch = guard_arm(srv->guard, &c, HTTP_REFUSE_HANDSHAKE_MS);
	}
}

/* CivetWeb's init_ssl: our handshake callback (CivetWeb's own does nothing). */
static int on_init_ssl(void *ssl_ctx, void *user_data)
{
	SSL_CTX_set_app_data((SSL_CTX *)ssl_ctx, user_data);
	SSL_CTX_set_info_callback((SSL_CTX *)ssl_ctx, on_tls_info);
	return 0;
}

/* A connection the guard does not let in gets one problem response at once and is closed: its
 * worker is free again within microseconds instead of waiting for a request head. */
static void refuse(struct http_server *srv, struct mg_connection *conn, int code)
{
	struct guard_conn c = {cur.fd, NULL, 0, 0};
	struct http_resp resp;

	guard_disarm(srv->guard, cur.watch);
	cur.watch = -1;
	memset(&resp, 0, sizeof(resp));
	if (problem_fill(&resp, code, 0,
			 code == CF_ERATELIMIT ? "too many connections from this address"
					       : "the server is busy; try again shortly",
			 0) != 0) {
		resp.status = 503;
	}
	resp.retry_after = 1;
	resp.close = 1;
	send_resp(srv, conn, &resp);
	cf_zeroize(resp.body, resp.body_len);
	free(resp.body);
	mg_disable_connection_keep_alive(conn);
	/* CivetWeb now waits for a request head: end that wait */
	guard_shutdown_read(&c);
	cf_debug("refused a connection from %s (%s)", cur.peer, cf_strerror(code));
}

/* CivetWeb's init_connection (in the worker, after the TLS handshake). */
static int on_connection(const struct mg_connection *cconn, void **conn_data)
{
	/* mg_write takes a non-const connection; CivetWeb hands its own worker's connection */
	struct mg_connection *conn = (struct mg_connection *)cconn;
	struct http_server *srv = mg_get_user_data(mg_get_context(conn));

	(void)conn_data;
	if (cur.active && cur.refused)
		refuse(srv, conn, cur.refused);
	return 0;
}

/* CivetWeb's connection_close, in the same worker (also after a failed handshake). */
static void on_connection_close(const struct mg_connection *conn)
{
	struct http_server *srv = mg_get_user_data(mg_get_context(conn));

	if (!cur.active)
		return;
	guard_disarm(srv->guard, cur.watch);
	if (cur.counted)
		guard_leave(srv->guard, cur.peer);
	memset(&cur, 0, sizeof(cur));
}

static int on_log(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	cf_warn("civetweb: %s", message);
	return 1;
}

/* "ADDR:PORT" → CivetWeb's listening_ports ("ADDR:PORT" or "[v6]:PORT", 's' for TLS). */
static int listen_spec(const char *listen, int tls, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s", listen, tls ? "s" : "");
	return n > 0 && (size_t)n < cap ? 0 : CF_EUSAGE;
}

/* The address to reach the listener of spec ("HOST:PORT", "[V6]:PORT", ":PORT") from here: the
 * host itself, or loopback for a wildcard. */
static void wake_host_of(const char *spec, char *out, size_t cap)
{
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	size_t n = colon ? (size_t)(colon - spec) : 0;

	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	snprintf(out, cap, "%.*s", (int)n, spec ? spec : "");
	if (!out[0] || strcmp(out, "0.0.0.0") == 0)
		snprintf(out, cap, "127.0.0.1");
	else if (strcmp(out, "::") == 0)
		snprintf(out, cap, "::1");
}

int http_start(const struct http_opts *opts, http_server **out, int *port)
{
	struct mg_callbacks cb;
	struct mg_server_port ports[4];
	struct http_server *srv;
	char lp[128], threads[16], timeout[16];
	const char *options[32];
	int i = 0, n, nthreads = opts->threads > 1 ? opts->threads : HTTP_DEFAULT_THREADS;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return CF_ENOMEM;
	srv->routes = opts->routes;
	srv->problems = opts->problems;
	srv->nonces = opts->nonces;
	srv->core = opts->core;
	srv->body_timeout_ms =
	    opts->body_timeout_ms > 0 ? opts->body_timeout_ms : HTTP_DEFAULT_BODY_TIMEOUT_MS;
	if (listen_spec(opts->listen, opts->cert_pem != NULL, lp, sizeof(lp)) != 0) {
		free(srv);
		return CF_EUSAGE;
	}
	/* One worker stays free of served connections, to answer those refused. */
	if (guard_new(nthreads - 1,
		      opts->per_address > 0 ? opts->per_address : HTTP_DEFAULT_PER_ADDRESS,
		      nthreads, &srv->guard) != 0) {
		free(srv);
		return CF_ENOMEM;
	}
	srv->metrics_mode = opts->metrics;
	if (metrics_new(opts->routes, &srv->metrics) != 0) {
		guard_free(srv->guard);
		free(srv);
		return CF_ENOMEM;
	}
	snprintf(threads, sizeof(threads), "%d", nthreads);
	/* CivetWeb's request_timeout_ms bounds the TLS handshake and the whole request head */
	snprintf(timeout, sizeof(timeout), "%d",
		 opts->head_timeout_ms > 0 ? opts->head_timeout_ms : HTTP_DEFAULT_HEAD_TIMEOUT_MS);
	options[i++] = "listening_ports";
	options[i++] = lp;
	options[i++] = "num_threads";
	options[i++] = threads;
	options[i++] = "tcp_nodelay";
	options[i++] = "1";
	options[i++] = "enable_keep_alive";
	options[i++] = "yes";
	/* ACME clients poll an order about 1 s after finalize on the same connection and do not
	 * retry a POST whose connection the server closed meanwhile (certbot: SSLEOFError): an idle
	 * connection is kept 5 s, Apache's default */
	options[i++] = "keep_alive_timeout_ms";
	options[i++] = "5000";
	options[i++] = "request_timeout_ms";
	options[i++] = timeout;
	options[i++] = "decode_url";
	options[i++] = "no";
	/* a burst of connections waits in the kernel, not refused (workers take them at once) */
	options[i++] = "listen_backlog";
	options[i++] = "1024";
	if (opts->cert_pem) {
		options[i++] = "ssl_certificate";
		options[i++] = opts->cert_pem;
		/* 4 = TLS 1.2 and 1.3 only */
		options[i++] = "ssl_protocol_version";
		options[i++] = "4";
		options[i++] = "ssl_cipher_list";
		options[i++] = "ECDHE+AESGCM:ECDHE+CHACHA20";
	}
	options[i] = NULL;

	mg_init_library(opts->cert_pem ? MG_FEATURES_TLS : 0);
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log;
	cb.init_ssl = on_init_ssl;
	cb.init_connection = on_connection;
	cb.connection_close = on_connection_close;
	srv->mg = mg_start(&cb, srv, options);
	if (!srv->mg) {
		fprintf(stderr, "certflowd: cannot listen on %s%s\n", opts->listen,
			opts->cert_pem ? " (HTTPS)" : "");
		guard_free(srv->guard);
		metrics_free(srv->metrics);
		free(srv);
		return CF_EIO;
	}
	mg_set_auth_handler(srv->mg, "/", on_authorize, NULL);
	mg_set_request_handler(srv->mg, "/", on_request, srv);
	n = mg_get_server_ports(srv->mg, 4, ports);
	if (n < 1) {
		http_stop(srv);
		return CF_EIO;
	}
	*port = ports[0].port;
	for (int k = 0; k < n && k < 4; k++)
		srv->ports[srv->nports++] = ports[k].port;
	wake_host_of(opts->listen, srv->wake_host, sizeof(srv->wake_host));
	*out = srv;
	return 0;
}

void http_set_ready(http_server *srv, const char *base_url, struct core *core)
{
	snprintf(srv->base_url, sizeof(srv->base_url), "%s", base_url);
	srv->core = core;
	__atomic_store_n(&srv->ready, 1, __ATOMIC_RELEASE);
}

/* CivetWeb's master thread looks at its stop flag only when its poll of the listening sockets
 * returns, which without a connection takes 2 s: a stop (and so a restart on the same port)
 * waited that long. This thread connects to the listener until mg_stop has returned. */
static void *wake_master(void *arg)
{
	http_server *srv = arg;
	const struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};

	for (int round = 0; round < 250 && !__atomic_load_n(&srv->stopped, __ATOMIC_ACQUIRE);
	     round++) {
		for (int i = 0; i < srv->nports; i++) {
			struct addrinfo *ai = NULL;
			char port[8];
			int fd;

			snprintf(port, sizeof(port), "%d", srv->ports[i]);
			if (getaddrinfo(srv->wake_host, port, &hints, &ai) != 0)
				continue;
			fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd >= 0) {
				(void)connect(fd, ai->ai_addr, ai->ai_addrlen);
				close(fd);
			}
			freeaddrinfo(ai);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

void http_stop(http_server *srv)
{
	pthread_t waker;
	int woke;

	if (!srv)
		return;
	woke = srv->mg && srv->nports && pthread_create(&waker, NULL, wake_master, srv) == 0;
	if (srv->mg)
		mg_stop(srv->mg);
	__atomic_store_n(&srv->stopped, 1, __ATOMIC_RELEASE);
	if (woke)
		pthread_join(waker, NULL);
	mg_exit_library();
	guard_free(srv->guard);
	metrics_free(srv->metrics);
	free(srv);
}
