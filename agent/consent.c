/*
 * consent — the texts of the consents a person accepts (the directory's meta.consentTexts, spec
 * protocol.md §2): `certflow-agent consents` prints them; apply, remote-renew and update show each
 * consent they are about to accept and, at a terminal, ask for "yes" before anything is sent.
 * Without a terminal the names given (the form's consents, --consents) are the acceptance.
 */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"

#define WRAP 76

/* text as lines of at most WRAP columns after indent, broken at spaces. */
static void print_wrapped(FILE *f, const char *text, int indent)
{
	while (*text) {
		size_t len = strlen(text), cut = len;

		if (len > WRAP) {
			cut = WRAP;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = WRAP; /* one word longer than a line */
		}
		fprintf(f, "%*s%.*s\n", indent, "", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

/* The title and text of consent name in the directory's meta (NULL: the server has none). */
static const cf_json *consent_text(client *c, const char *name)
{
	const cf_json *meta = client_dir_meta(c);
	const cf_json *texts = meta ? cf_json_get(meta, "consentTexts") : NULL;
	const cf_json *t = texts ? cf_json_get(texts, name) : NULL;

	return cf_json_is_object(t) ? t : NULL;
}

static const char *member(const cf_json *t, const char *name)
{
	const char *v = NULL;

	return cf_json_get_str(t, name, 16 * 1024, &v) == 0 ? v : NULL;
}

static void print_consent(FILE *f, const char *name, const cf_json *t)
{
	const char *title = member(t, "title"), *text = member(t, "text");

	fprintf(f, "%s: %s\n", name, title ? title : name);
	print_wrapped(f, text ? text : "(the server gives no text for it)", 2);
}

/* One line typed at the terminal: 1 for "yes", 0 otherwise (or at its end). */
static int typed_yes(void)
{
	char line[16];
	size_t n = 0;
	int over = 0;

	for (;;) {
		char ch;
		ssize_t k = read(0, &ch, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || ch == '\n')
			break;
		if (n + 1 < sizeof(line))
			line[n++] = ch;
		else
			over = 1;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	return !over && strcasecmp(line, "yes") == 0;
}

int agent_consents_print(struct client *c)
{
	const cf_json *meta = client_dir_meta(c);
	const cf_json *names = meta ? cf_json_get(meta, "consents") : NULL, *item;
	int n = 0;

	for (size_t i = 0; (item = cf_json_array_item(names, i)); i++) {
		const char *name = NULL;
		if (cf_json_str(item, 63, &name) != 0)
			continue;
		printf("%s", n++ ? "\n" : "");
		print_consent(stdout, name, consent_text(c, name));
	}
	if (n == 0) {
		agent_err("the server asks for no consent");
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

int agent_consents_confirm(struct client *c, const char *list)
{
	int ask = isatty(0); /* as the secrets' prompts: standard input is a terminal */
	char name[64];

	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		const cf_json *t;
		const char *title;

		if (len > 0 && len < sizeof(name) && ask) {
			memcpy(name, p, len);
			name[len] = '\0';
			t = consent_text(c, name);
			title = t ? member(t, "title") : NULL;
			fputc('\n', stderr);
			print_consent(stderr, name, t);
			fprintf(stderr,
				"Do you accept the %s? Type yes or no: ", title ? title : name);
			fflush(stderr);
			if (!typed_yes()) {
				agent_err("nothing was sent: the %s was not accepted",
					  title ? title : name);
				return AGENT_FAIL;
			}
		}
		p += len + (p[len] == ',');
	}
	return AGENT_OK;
}
