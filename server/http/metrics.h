/* metrics — counters of the HTTP layer and GET /metrics (metrics.c, spec/protocol.md §29). */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "http.h"

typedef struct metrics metrics;

int metrics_new(const struct http_route *routes, metrics **out);
void metrics_free(metrics *m);
/* One request answered: its route (NULL: none matched), status and, for a problem, its code. */
void metrics_count(metrics *m, const struct http_route *route, int status, int code);
/* 1 if a client at remote may read /metrics under mode (0 off, 1 loopback, 2 on). */
int metrics_allowed(int mode, const char *remote);
/* The exposition text (malloc'd, *len octets). */
int metrics_render(metrics *m, struct core *core, int connections, char **text, size_t *len);

#endif
