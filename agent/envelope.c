/*
 * envelope — `certflow-agent envelope open` (spec/cli.md, spec/protocol.md §16): open the
 * passphrase-protected envelope of an e-mail and print its members.
 *
 * Never: take the passphrase from the command line, or keep the passphrase, the text or the
 * opened members in memory after use (every buffer is wiped). Talks to no server.
 */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_envelope.h"
#include "cf_err.h"
#include "cf_file.h"

#define MAIL_MAX (1024 * 1024) /* an e-mail holding an envelope; the envelope is far smaller */

/* The rest of standard input (at most MAIL_MAX octets) into a malloc'd NUL-terminated *out. */
static int read_stdin(char **out, size_t *len)
{
	size_t n = 0, cap = 8192;
	char *buf = malloc(cap), *bigger;

	if (!buf)
		return CF_ENOMEM;
	for (;;) {
		ssize_t k;
		if (n + 1 == cap) {
			if (cap > MAIL_MAX) {
				cf_zeroize(buf, cap);
				free(buf);
				return CF_ETOOLARGE;
			}
			/* grow by copying, so that no old block keeps a copy of the text */
			if (!(bigger = malloc(cap * 2))) {
				cf_zeroize(buf, cap);
				free(buf);
				return CF_ENOMEM;
			}
			memcpy(bigger, buf, n);
			cf_zeroize(buf, cap);
			free(buf);
			buf = bigger;
			cap *= 2;
		}
		k = read(0, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cf_zeroize(buf, cap);
			free(buf);
			return CF_EIO;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Print the members of the opened envelope, "name: value" per line, the number last. */
static int print_members(const char *plain, uint32_t number)
{
	static const char *const names[] = {"reference", "credential", "activationCode",
					    "emergencyCode", "pin", "puk"};
	cf_json *doc = NULL;
	const char *v;

	if (cf_json_parse(plain, strlen(plain), &doc) != 0 || !cf_json_is_object(doc)) {
		cf_json_free(doc);
		agent_err("the envelope opened but does not hold a JSON object");
		return AGENT_FAIL;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (cf_json_get_str(doc, names[i], 1024, &v) == 0)
			printf("%s: %s\n", names[i], v);
	printf("envelopeNumber: %u\n", number);
	cf_json_free(doc); /* wipes its strings (cf_json_free zeroes what it frees) */
	return AGENT_OK;
}

int agent_envelope_open(const struct agent_opts *o)
{
	const char *in = o->in_file ? o->in_file : "-";
	const char *pass_file = o->passphrase_file ? o->passphrase_file : "-";
	struct agent_secret pass;
	char *text = NULL, *plain = NULL;
	size_t len = 0;
	uint32_t number = 0;
	int ret;

	/* both on standard input: the passphrase is its first line, the text the rest */
	ret = agent_secret_read(pass_file, "envelope passphrase", 1, 0, &pass);
	if (ret != 0) {
		agent_err("envelope passphrase from %s: %s",
			  strcmp(pass_file, "-") ? pass_file : "standard input",
			  ret == CF_EMALFORMED ? "empty, or more than one line" : cf_strerror(ret));
		return AGENT_FAIL;
	}
	ret = strcmp(in, "-") == 0 ? read_stdin(&text, &len)
				   : cf_file_read(in, MAIL_MAX, &text, &len);
	if (ret != 0) {
		cf_zeroize(&pass, sizeof(pass));
		agent_err("cannot read %s: %s", strcmp(in, "-") ? in : "standard input",
			  cf_strerror(ret));
		return AGENT_FAIL;
	}
	ret = cf_envelope_open(text, len, pass.line[0], &plain, &number);
	cf_zeroize(&pass, sizeof(pass));
	cf_zeroize(text, len);
	free(text);
	if (ret == CF_EBADPASSPHRASE) {
		agent_err("wrong passphrase, or the envelope is damaged");
		return AGENT_FAIL;
	}
	if (ret != 0) {
		agent_err("no readable certflow envelope in %s: %s",
			  strcmp(in, "-") ? in : "standard input",
			  ret == CF_EMALFORMED ? "missing or malformed" : cf_strerror(ret));
		return AGENT_FAIL;
	}
	if (o->json) {
		printf("%s\n", plain);
		ret = AGENT_OK;
	} else {
		ret = print_members(plain, number);
	}
	fflush(stdout);
	cf_free_secret(plain);
	return ret;
}
