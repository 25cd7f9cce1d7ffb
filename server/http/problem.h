/*
 * problem — RFC 7807 problem documents (application/problem+json) from CF_E* codes:
 * type urn:certflow:error:<name>, title, detail, status, and for renewal timing retryAfter plus a
 * Retry-After header. A detail never carries a secret.
 */
#ifndef PROBLEM_H
#define PROBLEM_H

#include "http.h"

/* Replace resp's body with the problem of code (detail "" → the code's title; retry_at 0 → none).
 * status overrides the code's status when non-zero (e.g. 400 for framing errors). The members of
 * resp->extra, if set, are kept in the document (problem_fill takes it over). */
int problem_fill(struct http_resp *resp, int code, int status, const char *detail,
		 int64_t retry_at);

#endif
