/*
 * fuzz.h — what every libFuzzer target of certflow shares: the input is handed to the parser on
 * a thread whose stack is the one a request handler has on a CivetWeb worker, so that a parser
 * that recurses on hostile input fails here as it would in certflowd.
 *
 * CivetWeb's workers have 100 KiB stacks (Debian builds libcivetweb with
 * CIVETWEB_THREAD_STACK_SIZE 102400, seen in /proc/PID/maps of certflowd); CivetWeb's own frames
 * take part of it before our handler runs, so the targets give the parser 64 KiB.
 */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_STACK (64 * 1024)

struct fuzz_job {
	const uint8_t *data;
	size_t size;
	void (*fn)(const uint8_t *data, size_t size);
};

static void *fuzz_thread(void *arg)
{
	struct fuzz_job *job = arg;
	job->fn(job->data, job->size);
	return NULL;
}

/* Run fn(data, size) on a FUZZ_STACK-sized stack; abort if no thread can be made. */
static inline void fuzz_on_worker_stack(void (*fn)(const uint8_t *, size_t), const uint8_t *data,
					size_t size)
{
	struct fuzz_job job = {data, size, fn};
	pthread_attr_t attr;
	pthread_t t;

	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, FUZZ_STACK) != 0 ||
	    pthread_create(&t, &attr, fuzz_thread, &job) != 0)
		abort();
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
}

/* A NUL-terminated copy of the input (the parsers that take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
