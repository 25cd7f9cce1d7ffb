/*
 * fetch — the one outgoing HTTP request certflowd makes: the ACME http-01 validation's GET of
 * http://<name>:<port>/.well-known/acme-challenge/<token> (spec/acme.md §4). Plain sockets, one
 * connection, no redirects, bounded in time (one deadline for connect, send and receive) and in
 * size (the answer's first HTTP_FETCH_MAX octets).
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"

#define HTTP_FETCH_MAX 4096

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 0, or CF_ETIMEOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline - mono_ms();
	int n;

	if (left <= 0)
		return CF_ETIMEOUT;
	do
		n = poll(&p, 1, (int)left);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : CF_ETIMEOUT;
}

static int connect_to(const char *host, int port, int64_t deadline, int *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	char service[8];
	int fd = -1, err = 0;
	socklen_t elen = sizeof(err);

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &ai) != 0)
		return CF_ETLS; /* the name does not resolve */
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return mono_ms() >= deadline ? CF_ETIMEOUT : CF_ETLS;
	*out = fd;
	return 0;
}

int http_fetch(const char *host, const char *address, int port, const char *path, int timeout_ms,
	       char *body, size_t cap, int *status)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char req[1024], buf[HTTP_FETCH_MAX + 1];
	size_t got = 0, sent = 0, len;
	const char *end;
	int fd = -1, ret, n;

	*status = 0;
	body[0] = '\0';
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certflowd\r\nAccept: */*\r\n"
		     "Connection: close\r\n\r\n",
		     path, host);
	if (n < 0 || (size_t)n >= sizeof(req))
		return CF_EMALFORMED;
	ret = connect_to(address && address[0] ? address : host, port, deadline, &fd);
	if (ret != 0)
		return ret;
	while (ret == 0 && sent < (size_t)n) {
		ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);

		if (w > 0)
			sent += (size_t)w;
		else if (w < 0 && (errno == EAGAIN || errno == EINTR))
			ret = wait_fd(fd, POLLOUT, deadline);
		else
			ret = CF_ETLS;
	}
	while (ret == 0 && got < HTTP_FETCH_MAX) {
		ssize_t r = recv(fd, buf + got, HTTP_FETCH_MAX - got, 0);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else if (errno == EAGAIN || errno == EINTR)
			ret = wait_fd(fd, POLLIN, deadline);
		else
			ret = CF_ETLS;
	}
	close(fd);
	if (ret != 0)
		return ret;
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*1[01] %3d", status) != 1 || !(end = strstr(buf, "\r\n\r\n")))
		return CF_EPROTO;
	end += 4;
	len = got - (size_t)(end - buf);
	if (len >= cap)
		len = cap - 1;
	memcpy(body, end, len);
	body[len] = '\0';
	return 0;
}
