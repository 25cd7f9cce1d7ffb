/*
 * transport — HTTPS/1.1 client over mbedTLS (transport.h). The only file of the client that
 * names an mbedTLS type.
 *
 * Never: skip the certificate or host name check (mbedtls_ssl_set_hostname is called for every
 * connection), speak plain HTTP to anything but a loopback address, send to another origin than
 * the one given to transport_new, or read more than the caps below. A request other than a POST
 * is sent again only when a kept-alive connection turned out closed before any byte of the
 * response arrived; a POST, once written, never (the server may have acted on it).
 */
#include "transport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "cf_clock.h"
#include "cf_crypto_mbedtls.h"
#include "cf_err.h"
#include "http1.h"

#define MAX_BODY (1024 * 1024)
#define IN_CAP (16 * 1024) /* read buffer; also the cap of a response head */
#define DEFAULT_TIMEOUT_MS 30000

/* mbedTLS 3.6 with TLS 1.3 reports a session ticket from mbedtls_ssl_read: read again. */
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#define TLS_TICKET(n) ((n) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#define TLS_TICKET(n) 0
#endif

struct transport {
	struct http_url origin;
	char host_hdr[300];
	unsigned char ip[16]; /* host as an address when it is an IP literal */
	size_t ip_len;
	int timeout_ms;
	int fd;	    /* -1: not connected */
	int io_err; /* CF_* of the last socket failure seen by the BIO callbacks */
	int ssl_live;
	int transient;		    /* the last failure happened before the request was sent */
	int ignore_time;	    /* transport_ignore_cert_time */
	int64_t chain_nb, chain_na; /* validity common to the server's chain (ignore_time) */
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_ssl_context ssl;
	unsigned char in[IN_CAP];
	size_t in_off, in_len;
	char err[256];
};

static int fail(transport *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(transport *t, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return code;
}

const char *transport_last_error(const transport *t)
{
	return t && t->err[0] ? t->err : NULL;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/* ---- socket I/O, also the BIO of mbedTLS ---- */

static int wait_fd(transport *t, short events)
{
	struct pollfd pfd = {.fd = t->fd, .events = events};
	int n;

	do
		n = poll(&pfd, 1, t->timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return t->io_err = CF_ETIMEOUT;
	if (n < 0)
		return t->io_err = CF_ETLS;
	return 0;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	transport *t = ctx;

	for (;;) {
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			t->io_err = CF_ETLS;
			return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
								     : MBEDTLS_ERR_NET_SEND_FAILED;
		}
		if (wait_fd(t, POLLOUT) != 0)
			return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

/* The timeout is t->timeout_ms (the same value mbedtls_ssl_conf_read_timeout was given). */
static int bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
	transport *t = ctx;

	(void)timeout;
	for (;;) {
		ssize_t n = recv(t->fd, buf, len, 0);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			t->io_err = CF_ETLS;
			return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
						   : MBEDTLS_ERR_NET_RECV_FAILED;
		}
		if (wait_fd(t, POLLIN) != 0)
			return t->io_err == CF_ETIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT
							: MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

static int tls_rng(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	return cf_random(out, len) == 0 ? 0 : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

/* ---- host name check for IP literals ---- */

#if MBEDTLS_VERSION_NUMBER < 0x03000000
/* mbedTLS 2.28 matches the name given to mbedtls_ssl_set_hostname only against dNSName SANs and
 * the CN, so "https://127.0.0.1:PORT" (certflowd's ready file) would never verify. This looks for
 * an iPAddress SAN equal to the literal; mbedTLS 3.6 does the same itself. */
static int san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t ip_len)
{
	unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len, *ext_end, *names_end;
	mbedtls_x509_buf oid;
	size_t len;
	int crit;

	if (!p ||
	    mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return 0;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return 0;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return 0;
		oid.p = p;
		p += oid.len;
		(void)mbedtls_asn1_get_bool(&p, ext_end, &crit); /* optional */
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
			return 0;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0)
			break;
		p = ext_end;
	}
	if (p >= end ||
	    mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return 0;
	for (names_end = p + len; p < names_end; p += len) {
		unsigned char tag = *p++;
		if (mbedtls_asn1_get_len(&p, names_end, &len))
			return 0;
		if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == ip_len &&
		    memcmp(p, ip, ip_len) == 0)
			return 1;
	}
	return 0;
}

static void check_ip_san(transport *t, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	if (depth == 0 && t->ip_len && (*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) &&
	    san_has_ip(crt, t->ip, t->ip_len))
		*flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
}

static void conf_version_specific(transport *t)
{
	mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
}
#else
static void check_ip_san(transport *t, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	(void)t, (void)crt, (void)depth, (void)flags;
}

static void conf_version_specific(transport *t)
{
	mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
}
#endif

/* ---- a device whose clock is clearly wrong (transport_ignore_cert_time) ---- */

/* Called for every certificate of the server's chain, the trust anchor included. With
 * ignore_time only the two time flags are dropped (the signatures up to the trust anchor and the
 * host name are checked as always) and the validity common to the whole chain is kept, to be
 * checked against the server's Date (check_date). */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	transport *t = ctx;
	int64_t nb, na;

	check_ip_san(t, crt, depth, flags);
	if (!t->ignore_time)
		return 0;
	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	nb = cf_x509_time_unix(&crt->valid_from);
	na = cf_x509_time_unix(&crt->valid_to);
	if (nb > t->chain_nb)
		t->chain_nb = nb;
	if (na < t->chain_na)
		t->chain_na = na;
	return 0;
}

/* With ignore_time: the server's Date is the time, so the chain must be valid at it. */
static int check_date(transport *t, const struct http_response *r)
{
	if (!t->ignore_time || !t->origin.tls)
		return 0;
	if (r->date == 0)
		return fail(t, CF_EVERIFY,
			    "%s sent no Date: the validity of its certificate cannot be checked",
			    t->origin.host);
	if (r->date < t->chain_nb || r->date > t->chain_na)
		return fail(t, CF_EVERIFY,
			    "certificate of %s is not valid at the server's own time (Date)",
			    t->origin.host);
	return 0;
}

/* ---- connections ---- */

static void conn_close(transport *t)
{
	if (t->ssl_live) {
		/* Best effort: a polite close_notify, never waited for. */
		(void)mbedtls_ssl_close_notify(&t->ssl);
		mbedtls_ssl_free(&t->ssl);
		t->ssl_live = 0;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->in_off = t->in_len = 0;
}

static int tcp_connect_one(transport *t, const struct addrinfo *ai)
{
	int fd, err = 0, one = 1;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	t->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			err = errno;
		else if (wait_fd(t, POLLOUT) != 0)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
	}
	if (err) {
		close(fd);
		t->fd = -1;
		return -err;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Try every address of the host in turn (localhost may be ::1 first while the server listens on
 * 127.0.0.1). Plain HTTP only ever goes to loopback addresses. */
static int tcp_connect(transport *t)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int gai, err = ENETUNREACH;

	gai = getaddrinfo(t->origin.host, t->origin.port, &hints, &res);
	if (gai != 0)
		return fail(t, CF_ETLS, "cannot resolve %s: %s", t->origin.host, gai_strerror(gai));
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!t->origin.tls && !is_loopback(ai->ai_addr))
			continue;
		err = -tcp_connect_one(t, ai);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	/* refused or reset: nothing was sent, e.g. while the server restarts its listener */
	t->transient = err == ECONNREFUSED || err == ECONNRESET;
	if (err == ETIMEDOUT)
		return fail(t, CF_ETIMEOUT, "connect to %s port %s: timed out", t->origin.host,
			    t->origin.port);
	if (err != 0)
		return fail(t, CF_ETLS, "connect to %s port %s: %s", t->origin.host, t->origin.port,
			    strerror(err));
	return 0;
}

static int tls_fail(transport *t, int mret, const char *what)
{
	char msg[160];

	if (t->io_err == CF_ETIMEOUT || mret == MBEDTLS_ERR_SSL_TIMEOUT)
		return fail(t, CF_ETIMEOUT, "%s %s: timed out", what, t->origin.host);
	mbedtls_strerror(mret, msg, sizeof(msg));
	return fail(t, CF_ETLS, "%s %s: %s", what, t->origin.host, msg);
}

static int tls_handshake(transport *t)
{
	int mret;
	uint32_t flags;
	char info[200];

	mbedtls_ssl_init(&t->ssl);
	t->ssl_live = 1;
	t->chain_nb = INT64_MIN;
	t->chain_na = INT64_MAX;
	if ((mret = mbedtls_ssl_setup(&t->ssl, &t->conf)) != 0 ||
	    (mret = mbedtls_ssl_set_hostname(&t->ssl, t->origin.host)) != 0)
		return tls_fail(t, mret, "TLS setup for");
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, NULL, bio_recv_timeout);
	do
		mret = mbedtls_ssl_handshake(&t->ssl);
	while (mret == MBEDTLS_ERR_SSL_WANT_READ || mret == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (mret == 0)
		return 0;
	/* cut before the handshake ended: nothing of the request was sent */
	t->transient = mret == MBEDTLS_ERR_NET_CONN_RESET || mret == MBEDTLS_ERR_SSL_CONN_EOF ||
		       (t->io_err == CF_ETLS && mret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	flags = mbedtls_ssl_get_verify_result(&t->ssl);
	if (mret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0 && flags != (uint32_t)-1) {
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
			info[0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		return fail(t, CF_EVERIFY, "certificate of %s does not verify: %s", t->origin.host,
			    info);
	}
	return tls_fail(t, mret, "TLS handshake with");
}

static int conn_open(transport *t)
{
	int ret;

	t->io_err = 0;
	if ((ret = tcp_connect(t)) != 0)
		return ret;
	if (t->origin.tls && (ret = tls_handshake(t)) != 0)
		conn_close(t);
	return ret;
}

/* 1 if an idle kept-alive connection looks usable: the server has sent nothing since the last
 * response (no close_notify, no EOF, no stray bytes). Otherwise it is closed here. */
static int conn_reusable(transport *t)
{
	struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

	if (t->fd < 0)
		return 0;
	if (t->in_len == t->in_off && (!t->ssl_live || mbedtls_ssl_get_bytes_avail(&t->ssl) == 0) &&
	    poll(&pfd, 1, 0) == 0)
		return 1;
	conn_close(t);
	return 0;
}

static int conn_write(transport *t, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		int n =
		    t->origin.tls ? mbedtls_ssl_write(&t->ssl, buf, len) : bio_send(t, buf, len);
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (n < 0)
			return tls_fail(t, n, "send to");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into the buffer (compacting it first). 0 on success, 1 on end of stream. */
static int conn_fill(transport *t)
{
	int n;

	if (t->in_off > 0) {
		memmove(t->in, t->in + t->in_off, t->in_len - t->in_off);
		t->in_len -= t->in_off;
		t->in_off = 0;
	}
	if (t->in_len == sizeof(t->in))
		return fail(t, CF_EPROTO, "response header from %s too large", t->origin.host);
	do
		n = t->origin.tls
			? mbedtls_ssl_read(&t->ssl, t->in + t->in_len, sizeof(t->in) - t->in_len)
			: bio_recv_timeout(t, t->in + t->in_len, sizeof(t->in) - t->in_len, 0);
	while (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE || TLS_TICKET(n));
	if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET)
		return 1;
	if (n < 0)
		return tls_fail(t, n, "receive from");
	t->in_len += (size_t)n;
	return 0;
}

/* ---- HTTP/1.1 responses ---- */

/* Read one response head into r. *got is set once any byte of the response was received. */
static int read_head(transport *t, struct http_head *h, struct http_response *r, int *got)
{
	char text[IN_CAP + 1];
	unsigned char *end;
	size_t n;
	int ret;

	for (;;) {
		if (t->in_len > t->in_off) {
			*got = 1;
			end = memmem(t->in + t->in_off, t->in_len - t->in_off, "\r\n\r\n", 4);
			if (end)
				break;
		}
		if ((ret = conn_fill(t)) < 0)
			return ret;
		if (ret == 1)
			return fail(t, *got ? CF_EPROTO : CF_ETLS,
				    "connection closed by %s before a response", t->origin.host);
	}
	n = (size_t)(end - (t->in + t->in_off));
	memcpy(text, t->in + t->in_off, n);
	text[n] = '\0';
	t->in_off += n + 4;
	if (http_parse_head(text, h, r) != 0)
		return fail(t, CF_EPROTO, "malformed response head from %s", t->origin.host);
	return 0;
}

/* Copy exactly n body bytes into out (EOF ends the body early only when allow_eof). */
static int read_bytes(transport *t, char *out, size_t n, int allow_eof, size_t *got)
{
	int ret;

	*got = 0;
	while (*got < n) {
		size_t k = t->in_len - t->in_off;
		if (k == 0) {
			if ((ret = conn_fill(t)) < 0)
				return ret;
			if (ret == 1)
				return allow_eof ? 0
						 : fail(t, CF_EPROTO, "response from %s truncated",
							t->origin.host);
			continue;
		}
		if (k > n - *got)
			k = n - *got;
		memcpy(out + *got, t->in + t->in_off, k);
		t->in_off += k;
		*got += k;
	}
	return 0;
}

static int read_line(transport *t, char *line, size_t cap)
{
	size_t n = 0, got;
	int ret;

	while (n + 1 < cap) {
		if ((ret = read_bytes(t, line + n, 1, 0, &got)) != 0)
			return ret;
		if (line[n] == '\n') {
			line[n - (n > 0 && line[n - 1] == '\r')] = '\0';
			return 0;
		}
		n++;
	}
	return fail(t, CF_EPROTO, "chunked response from %s: line too long", t->origin.host);
}

static int body_grow(char **body, size_t *cap, size_t need)
{
	char *nb;

	if (need <= *cap)
		return 0;
	nb = realloc(*body, need);
	if (!nb)
		return CF_ENOMEM;
	*body = nb;
	*cap = need;
	return 0;
}

static int read_chunked(transport *t, char **body, size_t *len)
{
	char line[256], *end;
	size_t cap = 1, got;
	unsigned long long sz;
	int ret;

	for (;;) {
		if ((ret = read_line(t, line, sizeof(line))) != 0)
			return ret;
		errno = 0;
		sz = strtoull(line, &end, 16);
		if (end == line || errno || (*end && *end != ';' && *end != ' '))
			return fail(t, CF_EPROTO, "bad chunk from %s", t->origin.host);
		if (sz == 0)
			break;
		if (sz > MAX_BODY - *len)
			return fail(t, CF_EPROTO, "response body from %s over 1 MiB",
				    t->origin.host);
		if ((ret = body_grow(body, &cap, *len + sz + 1)) != 0 ||
		    (ret = read_bytes(t, *body + *len, sz, 0, &got)) != 0 ||
		    (ret = read_line(t, line, sizeof(line))) != 0)
			return ret;
		*len += sz;
		if (line[0])
			return fail(t, CF_EPROTO, "bad chunk from %s", t->origin.host);
	}
	do /* trailer section, ignored */
		if ((ret = read_line(t, line, sizeof(line))) != 0)
			return ret;
	while (line[0]);
	return 0;
}

static int read_body(transport *t, const struct http_head *h, int no_body, struct http_response *r)
{
	char *body = malloc(1);
	size_t len = 0, cap = 1;
	int ret = 0;

	if (!body)
		return CF_ENOMEM;
	if (no_body) {
		/* HEAD, 204, 304: no body whatever the headers say */
	} else if (h->chunked) {
		ret = read_chunked(t, &body, &len);
	} else if (h->clen >= 0) {
		if (h->clen > MAX_BODY)
			ret =
			    fail(t, CF_EPROTO, "response body from %s over 1 MiB", t->origin.host);
		else if ((ret = body_grow(&body, &cap, (size_t)h->clen + 1)) == 0)
			ret = read_bytes(t, body, (size_t)h->clen, 0, &len);
	} else if (h->close) {
		/* Framed by the end of the connection: read up to the cap + 1 to detect excess. */
		if ((ret = body_grow(&body, &cap, MAX_BODY + 2)) == 0 &&
		    (ret = read_bytes(t, body, MAX_BODY + 1, 1, &len)) == 0 && len > MAX_BODY)
			ret =
			    fail(t, CF_EPROTO, "response body from %s over 1 MiB", t->origin.host);
	} else {
		ret = fail(t, CF_EPROTO, "response from %s has no Content-Length", t->origin.host);
	}
	if (ret != 0) {
		free(body);
		return ret;
	}
	body[len] = '\0';
	r->body = body;
	r->body_len = len;
	return 0;
}

static int read_response(transport *t, int is_head, struct http_response *out, int *got)
{
	struct http_response r;
	struct http_head h;
	int ret;

	do /* skip interim 1xx responses */
		if ((ret = read_head(t, &h, &r, got)) != 0)
			return ret;
	while (r.status < 200);
	ret = read_body(t, &h, is_head || r.status == 204 || r.status == 304, &r);
	if (ret != 0)
		return ret;
	if (h.close)
		conn_close(t);
	*out = r;
	return 0;
}

/* ---- public ---- */

void transport_ignore_cert_time(transport *t, int on)
{
	if (!t || t->ignore_time == !!on)
		return;
	t->ignore_time = !!on;
	conn_close(t); /* the next connection is verified the new way */
}

int transport_last_transient(const transport *t)
{
	return t && t->transient;
}

int transport_same_origin(const transport *t, const char *url)
{
	struct http_url u;

	return t && url && http_url_parse(url, &u) == 0 && http_url_same_origin(&u, &t->origin);
}

/* transport_new and transport_new_bootstrap (ca_file NULL, bootstrap set). */
static int transport_make(const char *base_url, const char *ca_file, int bootstrap, int timeout_ms,
			  transport **out)
{
	transport *t = calloc(1, sizeof(*t));
	int ret = CF_EINTERNAL, mret;
	char msg[128];

	if (!t)
		return CF_ENOMEM;
	t->fd = -1;
	t->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->ca);
	if (!base_url || http_url_parse(base_url, &t->origin) != 0) {
		ret = CF_EUSAGE;
		goto out;
	}
	t->origin.path = "";
	snprintf(t->host_hdr, sizeof(t->host_hdr),
		 strchr(t->origin.host, ':') ? "[%s]:%s" : "%s:%s", t->origin.host, t->origin.port);
	if (inet_pton(AF_INET, t->origin.host, t->ip) == 1)
		t->ip_len = 4;
	else if (inet_pton(AF_INET6, t->origin.host, t->ip) == 1)
		t->ip_len = 16;
	if (!t->origin.tls) {
		/* Plain HTTP: the name must be a loopback one, and so must every address used. */
		int loop = strcasecmp(t->origin.host, "localhost") == 0 ||
			   (t->ip_len == 4 && t->ip[0] == 127) ||
			   (t->ip_len == 16 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)t->ip));
		ret = loop ? 0 : CF_EUSAGE;
		goto out;
	}
	if (!ca_file && !bootstrap) {
		ret = CF_EUSAGE;
		goto out;
	}
	if (ca_file && (mret = mbedtls_x509_crt_parse_file(&t->ca, ca_file)) != 0) {
		mbedtls_strerror(mret, msg, sizeof(msg));
		ret = fail(t, CF_EIO, "CA file %s: %s", ca_file, msg);
		goto out;
	}
	if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto out;
	conf_version_specific(t);
	mbedtls_ssl_conf_verify(&t->conf, verify_cb, t);
	/* bootstrap: nothing it fetches is trusted before transport_pin_root checks it */
	mbedtls_ssl_conf_authmode(&t->conf, bootstrap ? MBEDTLS_SSL_VERIFY_NONE
						      : MBEDTLS_SSL_VERIFY_REQUIRED);
	if (!bootstrap)
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	mbedtls_ssl_conf_rng(&t->conf, tls_rng, NULL);
	mbedtls_ssl_conf_read_timeout(&t->conf, (uint32_t)t->timeout_ms);
	ret = 0;
out:
	if (ret != 0)
		transport_free(t);
	else
		*out = t;
	return ret;
}

int transport_new(const char *base_url, const char *ca_file, int timeout_ms, transport **out)
{
	return transport_make(base_url, ca_file, 0, timeout_ms, out);
}

int transport_new_bootstrap(const char *base_url, int timeout_ms, transport **out)
{
	return transport_make(base_url, NULL, 1, timeout_ms, out);
}

/* "sha256:" and 64 hex digits (either case, ':' between octets allowed) into out. */
static int parse_fingerprint(const char *text, uint8_t out[32])
{
	size_t n = 0;

	if (strncasecmp(text, "sha256:", 7) != 0)
		return CF_EUSAGE;
	for (const char *p = text + 7; *p; p++) {
		if (*p == ':' && p[1] != ':' && p[1] != '\0' && n > 0)
			continue;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n == 32)
			return CF_EUSAGE;
		sscanf(p, "%2hhx", &out[n++]);
		p++;
	}
	return n == 32 ? 0 : CF_EUSAGE;
}

int transport_pin_root(const char *chain_pem, size_t len, const char *fingerprint, char **root_pem)
{
	mbedtls_x509_crt chain, root;
	const mbedtls_x509_crt *c, *found = NULL;
	uint8_t want[32], got[32];
	unsigned char pem[8192];
	size_t olen = 0;
	uint32_t flags = 0;
	int ret;

	*root_pem = NULL;
	if (parse_fingerprint(fingerprint, want) != 0)
		return CF_EUSAGE;
	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&root);
	ret = mbedtls_x509_crt_parse(&chain, (const unsigned char *)chain_pem, len + 1) < 0 ||
		      !chain.raw.p
		  ? CF_EPROTO
		  : CF_EVERIFY;
	for (c = chain.raw.p ? &chain : NULL; c && ret != CF_EPROTO; c = c->next) {
		if (cf_sha256(c->raw.p, c->raw.len, got) == 0 && memcmp(got, want, 32) == 0) {
			found = c;
			break;
		}
	}
	/* the root of that fingerprint, self-signed, and the chain's first certificate under it */
	if (found && mbedtls_x509_crt_parse_der(&root, found->raw.p, found->raw.len) == 0 &&
	    mbedtls_x509_crt_verify(&root, &root, NULL, NULL, &flags, NULL, NULL) == 0 &&
	    mbedtls_x509_crt_verify(&chain, &root, NULL, NULL, &flags, NULL, NULL) == 0 &&
	    mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
				     found->raw.p, found->raw.len, pem, sizeof(pem), &olen) == 0)
		ret = (*root_pem = strdup((char *)pem)) ? 0 : CF_ENOMEM;
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&root);
	return ret;
}

void transport_free(transport *t)
{
	if (!t)
		return;
	conn_close(t);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	/* the last responses read (an enrolment-create answer holds an activation code) */
	cf_zeroize(t->in, sizeof(t->in));
	free(t);
}

/* The request text; auth (an Authorization value, NULL for none) is a secret: the head is wiped. */
static char *build_request(const transport *t, const char *method, const char *path,
			   const char *auth, const char *content_type, const void *body,
			   size_t body_len, size_t *len)
{
	char head[1024];
	int n;
	char *req = NULL;

	if ((content_type && strpbrk(content_type, "\r\n")) || (auth && strpbrk(auth, "\r\n")))
		return NULL;
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certflow/" CERTFLOW_VERSION
		     "\r\nAccept: application/json, application/problem+json, */*\r\n"
		     "%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
		     method, *path ? path : "/", t->host_hdr, auth ? "Authorization: " : "",
		     auth ? auth : "", auth ? "\r\n" : "", content_type ? "Content-Type: " : "",
		     content_type ? content_type : "", content_type ? "\r\n" : "", body_len);
	if (n >= 0 && (size_t)n < sizeof(head) && (req = malloc((size_t)n + body_len))) {
		memcpy(req, head, (size_t)n);
		if (body_len)
			memcpy(req + n, body, body_len);
		*len = (size_t)n + body_len;
	}
	cf_zeroize(head, sizeof(head));
	return req;
}

int transport_request(transport *t, const char *method, const char *url, const char *content_type,
		      const void *body, size_t body_len, struct http_response *resp)
{
	return transport_request_auth(t, method, url, NULL, content_type, body, body_len, resp);
}

int transport_request_auth(transport *t, const char *method, const char *url, const char *auth,
			   const char *content_type, const void *body, size_t body_len,
			   struct http_response *resp)
{
	int ret = CF_EINTERNAL, reused, got;
	struct http_url u;
	char *req = NULL;
	size_t req_len = 0;

	t->err[0] = '\0';
	t->transient = 0;
	if (!method || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method) ||
	    http_url_parse(url, &u) != 0 || !http_url_same_origin(&u, &t->origin)) {
		ret = fail(t, CF_EUSAGE, "URL %.200s is not on %s", url ? url : "(null)",
			   t->host_hdr);
		goto out;
	}
	req = build_request(t, method, u.path, auth, content_type, body ? body : "",
			    body ? body_len : 0, &req_len);
	if (!req) {
		ret = CF_ENOMEM;
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		reused = conn_reusable(t);
		if (!reused && (ret = conn_open(t)) != 0)
			goto out;
		t->transient = 0;
		got = 0;
		t->io_err = 0;
		ret = conn_write(t, (const unsigned char *)req, req_len);
		if (ret == 0)
			ret = read_response(t, strcmp(method, "HEAD") == 0, resp, &got);
		if (ret == 0 && (ret = check_date(t, resp)) != 0)
			http_response_clear(resp);
		if (ret == 0)
			break;
		conn_close(t);
		/* A kept-alive connection the server had already closed: send once more. Never a
		 * POST: its bytes were written, and the server may have acted on them (a renewal
		 * made twice, or answered badNonce and then made with a fresh nonce). */
		if (!reused || got || ret == CF_ETIMEOUT || strcmp(method, "POST") == 0)
			break;
	}
out:
	if (req) /* the body may be a signed activation code */
		cf_zeroize(req, req_len);
	free(req);
	return ret;
}

void http_response_clear(struct http_response *resp)
{
	if (!resp)
		return;
	cf_zeroize(resp->body, resp->body_len);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}
