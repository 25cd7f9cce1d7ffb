/* test_http_guard — connection counts per client address and in all, and the watchdog that
 * ends a read at its deadline, on loopback sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cf_err.h"
#include "check.h"
#include "guard.h"

static void test_per_address_cap_then_total_cap_and_leave_frees_a_place(void)
{
	guard *g = NULL;

	CHECK_EQ_INT(guard_new(3, 2, 3, &g), 0);
	CHECK_EQ_INT(guard_enter(g, "127.0.0.2"), 0);
	CHECK_EQ_INT(guard_enter(g, "127.0.0.2"), 0);
	CHECK_EQ_INT(guard_enter(g, "127.0.0.2"), CF_ERATELIMIT);
	CHECK_EQ_INT(guard_enter(g, "::1"), 0);
	CHECK_EQ_INT(guard_enter(g, "127.0.0.3"), CF_EUNAVAILABLE); /* 3 served in all */
	guard_leave(g, "127.0.0.2");
	CHECK_EQ_INT(guard_enter(g, "127.0.0.3"), 0);
	CHECK_EQ_INT(guard_enter(g, "127.0.0.2"), CF_EUNAVAILABLE);
	guard_leave(g, "::1");
	CHECK_EQ_INT(guard_enter(g, "127.0.0.2"), 0);
	guard_free(g);
}

/* A connected pair on loopback: *srv the accepted end, *cli the client end. */
static int tcp_pair(int *srv, int *cli)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*cli, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	*srv = accept(l, NULL, NULL);
	close(l);
	return *srv >= 0 ? 0 : -1;
}

static void test_shutdown_by_addresses_ends_the_servers_read(void)
{
	struct sockaddr_in peer, local;
	socklen_t len = sizeof(peer);
	char addr[GUARD_ADDR_MAX], buf[8];
	int srv, cli;

	CHECK_EQ_INT(tcp_pair(&srv, &cli), 0);
	CHECK_EQ_INT(guard_peer_of(srv, addr, sizeof(addr)), 0);
	CHECK_EQ_STR(addr, "127.0.0.1");
	getpeername(srv, (struct sockaddr *)&peer, &len);
	len = sizeof(local);
	getsockname(srv, (struct sockaddr *)&local, &len);
	struct guard_conn c = {-1, addr, ntohs(peer.sin_port), ntohs(local.sin_port)};
	struct guard_conn wrong = {-1, addr, ntohs(peer.sin_port) ^ 1, ntohs(local.sin_port)};

	CHECK_EQ_INT(guard_shutdown_read(&wrong), CF_ENOTFOUND);
	CHECK_EQ_INT(guard_shutdown_read(&c), 0);
	CHECK_EQ_INT((int)recv(srv, buf, sizeof(buf), MSG_DONTWAIT), 0); /* end of file at once */
	close(srv);
	close(cli);
}

static void test_a_read_still_waiting_at_its_deadline_is_ended(void)
{
	struct timeval tv = {10, 0}; /* bounds the test if the watchdog never fires */
	guard *g = NULL;
	char buf[8];
	int srv, cli, id;

	CHECK_EQ_INT(guard_new(2, 2, 2, &g), 0);
	CHECK_EQ_INT(tcp_pair(&srv, &cli), 0);
	setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct guard_conn c = {srv, NULL, 0, 0};

	id = guard_arm(g, &c, 50);
	CHECK(id >= 0);
	CHECK_EQ_INT((int)recv(srv, buf, sizeof(buf), 0), 0); /* the client sends nothing */
	CHECK_EQ_INT(guard_disarm(g, id), 1);
	/* a read that ends before its deadline is not cut */
	id = guard_arm(g, &c, 60000);
	CHECK_EQ_INT(guard_disarm(g, id), 0);
	close(srv);
	close(cli);
	guard_free(g);
}

int main(void)
{
	RUN(test_per_address_cap_then_total_cap_and_leave_frees_a_place);
	RUN(test_shutdown_by_addresses_ends_the_servers_read);
	RUN(test_a_read_still_waiting_at_its_deadline_is_ended);
	return check_done();
}
