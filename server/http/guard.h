/*
 * guard — what keeps idle and slow clients from holding certflowd's workers (issue 15): a count
 * of the connections being served per client address, with a cap per address and a cap in all,
 * and a watchdog that cuts off a request body that has not arrived by its deadline. CivetWeb
 * serves one connection per worker thread and offers no deadline for a body nor a way to close
 * a connection from a callback, so the guard finds the connection's socket by its addresses and
 * shuts down its reading side: CivetWeb's pending read then ends at once. Knows nothing of HTTP
 * or CivetWeb; thread-safe.
 */
#ifndef GUARD_H
#define GUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct guard guard;

#define GUARD_ADDR_MAX 48 /* INET6_ADDRSTRLEN and some */

/* One TCP connection, as the server sees it: its socket when known (fd ≥ 0), else its
 * addresses, by which the guard finds the socket. */
struct guard_conn {
	int fd;
	const char *peer; /* client IP address text (inet_ntop form) */
	int peer_port;
	int local_port;
};

/* New guard: at most total connections served at once, at most per_address of them from one
 * client address, at most watches deadlines at once. Starts the watchdog thread. CF_ENOMEM,
 * CF_EINTERNAL. */
int guard_new(int total, int per_address, int watches, guard **out);
/* Stop the watchdog and free; safe on NULL. */
void guard_free(guard *g);

/* Count a new connection from peer: 0 (call guard_leave when it closes), CF_ERATELIMIT when
 * peer has per_address connections already, CF_EUNAVAILABLE when total are served. */
int guard_enter(guard *g, const char *peer);
void guard_leave(guard *g, const char *peer);
/* Connections being served now (GET /metrics). */
int guard_served(guard *g);

/* Watch a body being read on c: when ms milliseconds have passed before guard_disarm, the
 * socket's reading side is shut down. Returns a watch id ≥ 0 for guard_disarm, or -1 when no
 * slot is free (the body is then read without a watch). c's strings are copied. */
int guard_arm(guard *g, const struct guard_conn *c, int64_t ms);
/* End the watch; 1 if it had fired (the body's deadline passed), 0 if not. */
int guard_disarm(guard *g, int id);

/* Shut down the reading side of c's socket in this process (a pending read then returns end of
 * file). 0, or CF_ENOTFOUND when no socket of this process has those addresses. */
int guard_shutdown_read(const struct guard_conn *c);

/* The client address of socket fd as text (cap ≥ GUARD_ADDR_MAX): 0, or -1 if not IP. */
int guard_peer_of(int fd, char *out, size_t cap);

#endif
