/*
 * guard — connection counts per client address and body deadlines (see guard.h). Must never
 * close a socket it does not own: it only shuts down the reading side of a connection that a
 * worker is serving, and the worker closes it.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cf_err.h"

#define GUARD_TICK_MS 100 /* watchdog period: how late a deadline may fire */

struct peer_count {
	char peer[GUARD_ADDR_MAX];
	int n; /* 0 = free entry */
};

struct watch {
	int used, fired;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	char peer[GUARD_ADDR_MAX];
	int fd, peer_port, local_port;
};

struct guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int stop;
	int total, per_address, served, nwatches;
	struct peer_count *peers; /* total entries: at most total peers are served at once */
	struct watch *watches;	  /* nwatches entries */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address and port of a socket address as text and number; 0 or -1 (not IP). */
static int addr_text(const struct sockaddr_storage *sa, char *out, size_t cap, int *port)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)cap) ? 0 : -1;
	}
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*port = ntohs(in6->sin6_port);
		return inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)cap) ? 0 : -1;
	}
	return -1;
}

/* Does socket fd have these addresses? */
static int socket_is(int fd, const struct guard_conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char text[GUARD_ADDR_MAX];
	int port;

	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    addr_text(&sa, text, sizeof(text), &port) != 0 || port != c->peer_port ||
	    strcmp(text, c->peer) != 0)
		return 0;
	len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    addr_text(&sa, text, sizeof(text), &port) != 0)
		return 0;
	return port == c->local_port;
}

int guard_shutdown_read(const struct guard_conn *c)
{
	/* A TCP connection's addresses are unique among open sockets, and the one sought is held
	 * open by the worker that serves it while this runs: the match is that socket. */
	DIR *d;
	struct dirent *e;
	int ret = CF_ENOTFOUND;

	if (c->fd >= 0)
		return shutdown(c->fd, SHUT_RD) == 0 ? 0 : CF_ENOTFOUND;
	d = opendir("/proc/self/fd");
	if (!d)
		return CF_EIO;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		if (socket_is((int)fd, c)) {
			shutdown((int)fd, SHUT_RD);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

static void *watchdog(void *arg)
{
	guard *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		int64_t now = now_ms();

		for (int i = 0; i < g->nwatches; i++) {
			struct watch *w = &g->watches[i];
			struct guard_conn c = {w->fd, w->peer, w->peer_port, w->local_port};

			/* under the lock: the worker cannot disarm and close meanwhile */
			if (w->used && !w->fired && now >= w->deadline_ms) {
				w->fired = 1;
				guard_shutdown_read(&c);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* Free what guard_new made; the watchdog thread (if any) has stopped. */
static void guard_destroy(guard *g)
{
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g->peers);
	free(g->watches);
	free(g);
}

int guard_new(int total, int per_address, int watches, guard **out)
{
	pthread_condattr_t ca;
	guard *g = calloc(1, sizeof(*g));

	if (!g)
		return CF_ENOMEM;
	g->total = total > 0 ? total : 1;
	g->per_address = per_address > 0 ? per_address : 1;
	g->nwatches = watches > 0 ? watches : 1;
	g->peers = calloc((size_t)g->total, sizeof(*g->peers));
	g->watches = calloc((size_t)g->nwatches, sizeof(*g->watches));
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (!g->peers || !g->watches) {
		guard_destroy(g);
		return CF_ENOMEM;
	}
	if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
		guard_destroy(g);
		return CF_EINTERNAL;
	}
	*out = g;
	return 0;
}

void guard_free(guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	guard_destroy(g);
}

/* The entry counting peer, or a free one (NULL when none: cannot happen while served < total). */
static struct peer_count *peer_entry(guard *g, const char *peer)
{
	struct peer_count *free_entry = NULL;

	for (int i = 0; i < g->total; i++) {
		struct peer_count *p = &g->peers[i];
		if (p->n > 0 && strcmp(p->peer, peer) == 0)
			return p;
		if (p->n == 0 && !free_entry)
			free_entry = p;
	}
	return free_entry;
}

int guard_enter(guard *g, const char *peer)
{
	struct peer_count *p;
	int ret = 0;

	pthread_mutex_lock(&g->lock);
	p = peer_entry(g, peer);
	if (g->served >= g->total || !p) {
		ret = CF_EUNAVAILABLE;
	} else if (p->n >= g->per_address) {
		ret = CF_ERATELIMIT;
	} else {
		if (p->n == 0) {
			strncpy(p->peer, peer, sizeof(p->peer) - 1);
			p->peer[sizeof(p->peer) - 1] = '\0';
		}
		p->n++;
		g->served++;
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

int guard_served(guard *g)
{
	int n;

	if (!g)
		return 0;
	pthread_mutex_lock(&g->lock);
	n = g->served;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void guard_leave(guard *g, const char *peer)
{
	struct peer_count *p;

	pthread_mutex_lock(&g->lock);
	p = peer_entry(g, peer);
	if (p && p->n > 0) {
		p->n--;
		g->served--;
	}
	pthread_mutex_unlock(&g->lock);
}

int guard_arm(guard *g, const struct guard_conn *c, int64_t ms)
{
	int id = -1;

	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->nwatches; i++) {
		struct watch *w = &g->watches[i];
		if (w->used)
			continue;
		memset(w, 0, sizeof(*w));
		w->used = 1;
		w->deadline_ms = now_ms() + ms;
		w->fd = c->fd;
		strncpy(w->peer, c->peer ? c->peer : "", sizeof(w->peer) - 1);
		w->peer_port = c->peer_port;
		w->local_port = c->local_port;
		id = i;
		break;
	}
	pthread_mutex_unlock(&g->lock);
	return id;
}

int guard_disarm(guard *g, int id)
{
	int fired = 0;

	if (id < 0 || id >= g->nwatches)
		return 0;
	pthread_mutex_lock(&g->lock);
	fired = g->watches[id].fired;
	g->watches[id].used = 0;
	pthread_mutex_unlock(&g->lock);
	return fired;
}

int guard_peer_of(int fd, char *out, size_t cap)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int port;

	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	return addr_text(&sa, out, cap, &port);
}
