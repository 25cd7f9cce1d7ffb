/*
 * help — `certflow-agent COMMAND --help`: the lines of the whole help text that concern one
 * command (its usage forms, its description, the options it takes), so that the manual stays one
 * text and each command's help is cut from it.
 *
 * The text's layout is the contract: a usage line starts "  certflow-agent NAME"; a description
 * starts "  NAME" followed by a space; an option line starts "  -" and names its options before
 * the first two spaces; a line starting with three spaces continues the line above it.
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>

enum part { USAGE, DESCRIPTION, OPTIONS };

/* s (len octets) starts with word w followed by a space or its end. */
static int starts_word(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	return len >= n && memcmp(s, w, n) == 0 && (len == n || s[n] == ' ');
}

/* "certflow-agent NAME...": NAME is cmd, or one of its '|' alternatives ("activate|unblock"). */
static int usage_names(const char *s, size_t len, const char *cmd)
{
	size_t n = strlen(cmd);

	if (starts_word(s, len, cmd))
		return 1;
	for (size_t i = 0; i < len && s[i] != ' ';) {
		size_t e = i;
		while (e < len && s[e] != ' ' && s[e] != '|')
			e++;
		if (e - i == n && memcmp(s + i, cmd, n) == 0)
			return 1;
		i = e + (e < len && s[e] == '|');
		if (e < len && s[e] == ' ')
			break;
	}
	return 0;
}

/* The option names before the first two spaces of an option line hold "--name" for a name of
 * opts (or it is -h/--help). */
static int option_named(const char *s, size_t len, const char *const *opts)
{
	const char *gap = NULL;
	size_t head = len;

	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == ' ' && s[i + 1] == ' ') {
			gap = s + i;
			break;
		}
	}
	if (gap)
		head = (size_t)(gap - s);
	for (const char *const *o = opts; *o; o++) {
		size_t n = strlen(*o);
		for (size_t i = 0; i + n + 2 <= head; i++) {
			const char *p = s + i;
			if (p[0] != '-' || p[1] != '-' || memcmp(p + 2, *o, n) != 0)
				continue;
			if (i > 0 && p[-1] != ' ' && p[-1] != ',')
				continue;
			if (i + n + 2 == head || p[n + 2] == ' ' || p[n + 2] == ',')
				return 1;
		}
	}
	return starts_word(s, len, "-h,");
}

static int head_matches(enum part part, const char *s, size_t len, const char *cmd,
			const char *const *opts)
{
	static const char prog[] = "certflow-agent ";

	if (len < 3 || s[0] != ' ' || s[1] != ' ' || s[2] == ' ')
		return 0;
	s += 2;
	len -= 2;
	switch (part) {
	case USAGE:
		return len > sizeof(prog) - 1 && memcmp(s, prog, sizeof(prog) - 1) == 0 &&
		       usage_names(s + sizeof(prog) - 1, len - (sizeof(prog) - 1), cmd);
	case DESCRIPTION:
		return s[0] != '-' && starts_word(s, len, cmd);
	case OPTIONS:
		return s[0] == '-' && option_named(s, len, opts);
	}
	return 0;
}

/* Print the lines of text that are part of cmd's help, with what continues them. */
static void print_part(const char *text, enum part part, const char *cmd, const char *const *opts)
{
	int on = 0;

	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len >= 3 && memcmp(s, "   ", 3) == 0) {
			if (on)
				printf("%.*s\n", (int)len, s);
		} else {
			on = head_matches(part, s, len, cmd, opts);
			if (on)
				printf("%.*s\n", (int)len, s);
		}
		s += len + (nl != NULL);
	}
}

void agent_command_help(const char *text, const char *cmd, const char *const *opts)
{
	fputs("Usage:\n", stdout);
	print_part(text, USAGE, cmd, opts);
	fputs("\n", stdout);
	print_part(text, DESCRIPTION, cmd, opts);
	fputs("\nOptions:\n", stdout);
	print_part(text, OPTIONS, cmd, opts);
	fputs("\nExit statuses, the files of DIR and the other commands: certflow-agent --help\n",
	      stdout);
}
