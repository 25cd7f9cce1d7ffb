/*
 * dns — the one DNS question certflowd asks: the TXT records of _acme-challenge.<name> for the
 * ACME dns-01 validation (spec/acme.md §4). glibc's resolver (res_nquery on a private resolver
 * state, so threads do not share one), one UDP try per name server within the caller's deadline,
 * no search list, truncated answers not retried over TCP (a dns-01 answer is small; TCP's connect
 * has no deadline in glibc).
 */
#include "http.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

#define DNS_ANSWER_MAX 4096

/* "ADDR" or "ADDR:PORT" (IPv4) → sin; 0 or CF_EMALFORMED. */
static int resolver_addr(const char *text, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(text, ':');
	size_t hl = colon ? (size_t)(colon - text) : strlen(text);
	long port = 53;
	char *end = NULL;

	if (hl == 0 || hl >= sizeof(host))
		return CF_EMALFORMED;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || port < 1 || port > 65535)
			return CF_EMALFORMED;
	}
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : CF_EMALFORMED;
}

int http_dns_resolver_ok(const char *resolver)
{
	struct sockaddr_in sin;

	return !resolver || !resolver[0] || resolver_addr(resolver, &sin) == 0;
}

int http_dns_parse_txt(const unsigned char *ans, int len, char (*vals)[HTTP_TXT_LEN], int max,
		       int *n)
{
	ns_msg msg;
	ns_rr rr;

	*n = 0;
	if (len < 0 || ns_initparse(ans, len, &msg) != 0)
		return CF_EPROTO;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		const unsigned char *p, *end;
		size_t used = 0;
		int fits = 1;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
			return CF_EPROTO;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue; /* a CNAME the resolver followed */
		if (*n >= max)
			break;
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		while (p < end) {
			size_t sl = *p++;

			if (sl > (size_t)(end - p))
				return CF_EPROTO;
			if (used + sl >= HTTP_TXT_LEN)
				fits = 0;
			else
				memcpy(vals[*n] + used, p, sl);
			used += fits ? sl : 0;
			p += sl;
		}
		if (!fits)
			continue; /* longer than any value a validation compares with */
		vals[*n][used] = '\0';
		(*n)++;
	}
	return 0;
}

int http_dns_txt(const char *name, const char *resolver, int timeout_ms, char (*vals)[HTTP_TXT_LEN],
		 int max, int *n)
{
	struct __res_state st;
	unsigned char *ans;
	int len, ret, secs;

	*n = 0;
	if (strlen(name) > 253)
		return CF_EMALFORMED;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0)
		return CF_EIO;
	if (resolver && resolver[0]) {
		struct sockaddr_in sin;

		if (resolver_addr(resolver, &sin) != 0) {
			res_nclose(&st);
			return CF_EMALFORMED;
		}
		st.nsaddr_list[0] = sin;
		st.nscount = 1;
	}
	/* one try per server, the deadline shared between them */
	secs = timeout_ms / 1000 / (st.nscount > 0 ? st.nscount : 1);
	st.retrans = secs > 0 ? secs : 1;
	st.retry = 1;
	st.options |= RES_IGNTC;
	st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	ans = malloc(DNS_ANSWER_MAX);
	if (!ans) {
		res_nclose(&st);
		return CF_ENOMEM;
	}
	len = res_nquery(&st, name, ns_c_in, ns_t_txt, ans, DNS_ANSWER_MAX);
	if (len < 0) {
		switch (st.res_h_errno) {
		case HOST_NOT_FOUND:
		case NO_DATA:
			ret = CF_ENOTFOUND;
			break;
		case TRY_AGAIN:
			ret = CF_ETIMEOUT;
			break;
		default:
			ret = CF_EIO;
		}
	} else {
		ret = http_dns_parse_txt(ans, len < DNS_ANSWER_MAX ? len : DNS_ANSWER_MAX, vals,
					 max, n);
	}
	free(ans);
	res_nclose(&st);
	return ret;
}
