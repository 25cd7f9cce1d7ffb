/*
 * state — DIR/state.json, the status file and `certflow-agent status` (state.h).
 *
 * Never: let a damaged state file stop a renewal (it only loses the plan, which is made again),
 * or write either file other than atomically (cf_file_write).
 */
#include "state.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_json.h"
#include "install.h"
#include "schedule.h"

#define STATE_MAX (16 * 1024)

/* The time members of state.json, in one table for load and save. */
static const struct {
	const char *key;
	size_t off;
} time_members[] = {
    {"windowStart", offsetof(struct agent_state, window_start)},
    {"windowEnd", offsetof(struct agent_state, window_end)},
    {"plannedAt", offsetof(struct agent_state, planned_at)},
    {"nextAttempt", offsetof(struct agent_state, next_attempt)},
    {"lastAttempt", offsetof(struct agent_state, last_attempt)},
    {"lastSuccess", offsetof(struct agent_state, last_success)},
};
#define N_TIMES (sizeof(time_members) / sizeof(time_members[0]))

static int64_t *time_at(struct agent_state *st, size_t i)
{
	return (int64_t *)((char *)st + time_members[i].off);
}

/* Add key: RFC 3339 time, unless t is 0 (then the member is absent). */
static int add_time(cf_json *obj, const char *key, int64_t t)
{
	char s[21];

	if (t == 0)
		return 0;
	cf_time_format(t, s);
	return cf_json_add_str(obj, key, s);
}

static int get_time(const cf_json *obj, const char *key, int64_t *t)
{
	const char *s = NULL;

	*t = 0;
	if (cf_json_get_str_opt(obj, key, 20, &s) != 0)
		return CF_EMALFORMED;
	return s && cf_time_parse(s, t) != 0 ? CF_EMALFORMED : 0;
}

static int copy_opt(const cf_json *obj, const char *key, char *dst, size_t cap)
{
	const char *s = NULL;

	if (cf_json_get_str_opt(obj, key, cap - 1, &s) != 0)
		return CF_EMALFORMED;
	snprintf(dst, cap, "%s", s ? s : "");
	return 0;
}

int state_load(const char *dir, struct agent_state *st)
{
	char path[PATH_MAX], *text = NULL;
	struct agent_state tmp;
	cf_json *doc = NULL;
	int64_t failures = 0;
	size_t len;
	int ret;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if (cf_file_read(path, STATE_MAX, &text, &len) != 0)
		return 0;
	memset(&tmp, 0, sizeof(tmp));
	ret = cf_json_parse(text, len, &doc) == 0 && cf_json_is_object(doc) ? 0 : CF_EMALFORMED;
	for (size_t i = 0; ret == 0 && i < N_TIMES; i++)
		ret = get_time(doc, time_members[i].key, time_at(&tmp, i));
	if (ret == 0 && cf_json_get(doc, "failures"))
		ret = cf_json_get_int(doc, "failures", 0, 1000000, &failures);
	if (ret == 0 && (ret = copy_opt(doc, "serial", tmp.serial, sizeof(tmp.serial))) == 0)
		ret = copy_opt(doc, "lastError", tmp.last_error, sizeof(tmp.last_error));
	tmp.failures = (unsigned)failures;
	if (ret == 0)
		*st = tmp;
	cf_json_free(doc);
	free(text);
	return ret ? CF_EMALFORMED : 0;
}

int state_save(const char *dir, const struct agent_state *st)
{
	char path[PATH_MAX], *text = NULL;
	cf_json *doc = cf_json_new_object();
	int ret = doc ? 0 : CF_ENOMEM;

	if (ret == 0 && st->serial[0])
		ret = cf_json_add_str(doc, "serial", st->serial);
	for (size_t i = 0; ret == 0 && i < N_TIMES; i++)
		ret = add_time(doc, time_members[i].key, *time_at((struct agent_state *)st, i));
	if (ret == 0)
		ret = cf_json_add_int(doc, "failures", st->failures);
	if (ret == 0 && st->last_error[0])
		ret = cf_json_add_str(doc, "lastError", st->last_error);
	if (ret == 0 && !(text = cf_json_print(doc)))
		ret = CF_ENOMEM;
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/state.json", dir);
		ret = cf_file_write(path, text, strlen(text), 0644, 0);
	}
	free(text);
	cf_json_free(doc);
	return ret;
}

/* ---- status ---- */

struct status {
	const struct agent_cred *cred;
	struct agent_state st;
	struct cert_info cert; /* serial "" if there is no certificate */
	long days_left;
	const char *state; /* ok, due, failing, expired */
};

static void status_of(const struct agent_cred *c, int64_t now, struct status *s)
{
	char path[PATH_MAX + 16];
	struct sched_input in;

	memset(s, 0, sizeof(*s));
	s->cred = c;
	(void)state_load(c->dir, &s->st);
	snprintf(path, sizeof(path), "%s/cert.pem", c->dir);
	if (certcheck_info(path, &s->cert) != 0) {
		memset(&s->cert, 0, sizeof(s->cert));
		s->state = "expired";
		return;
	}
	s->days_left = (long)((s->cert.not_after - now) / 86400);
	in = (struct sched_input){.now = now,
				  .not_before = s->cert.not_before,
				  .not_after = s->cert.not_after,
				  .failures = s->st.failures,
				  .next_attempt = s->st.next_attempt};
	if (strcmp(s->st.serial, s->cert.serial) == 0) {
		in.window_start = s->st.window_start;
		in.window_end = s->st.window_end;
		in.planned = s->st.planned_at;
	} else { /* no plan for this certificate yet: the fallback */
		schedule_fallback(in.not_before, in.not_after, &in.window_start, &in.window_end);
		in.planned = in.window_start;
	}
	if (now >= s->cert.not_after)
		s->state = "expired";
	else if (s->st.failures > 0)
		s->state = "failing";
	else
		s->state = schedule_is_due(schedule_due(&in)) ? "due" : "ok";
}

static cf_json *status_json(const struct status *s)
{
	cf_json *o = cf_json_new_object();
	char na[21];

	if (!o)
		return NULL;
	cf_time_format(s->cert.not_after, na);
	if (cf_json_add_str(o, "name", s->cred->name) != 0 ||
	    (s->cert.serial[0] && (cf_json_add_str(o, "serial", s->cert.serial) != 0 ||
				   cf_json_add_str(o, "notAfter", na) != 0 ||
				   cf_json_add_int(o, "daysLeft", s->days_left) != 0)) ||
	    add_time(o, "nextAttempt", s->st.next_attempt) != 0 ||
	    add_time(o, "lastAttempt", s->st.last_attempt) != 0 ||
	    add_time(o, "lastSuccess", s->st.last_success) != 0 ||
	    (s->st.last_error[0] && cf_json_add_str(o, "lastError", s->st.last_error) != 0) ||
	    cf_json_add_int(o, "failures", s->st.failures) != 0 ||
	    cf_json_add_str(o, "state", s->state) != 0) {
		cf_json_free(o);
		return NULL;
	}
	return o;
}

/* The status document of cfg as printed JSON text (malloc'd), or NULL; *bad counts the
 * credentials that are failing or expired. */
static char *status_text(const struct agent_config *cfg, int64_t now, int *bad)
{
	cf_json *doc = cf_json_new_object(), *arr = cf_json_new_array(), *item;
	struct status s;
	char upd[21], *text = NULL;

	*bad = 0;
	cf_time_format(now, upd);
	if (!doc || !arr || cf_json_add_str(doc, "updated", upd) != 0)
		goto out;
	for (size_t i = 0; i < cfg->n; i++) {
		status_of(&cfg->cred[i], now, &s);
		*bad += strcmp(s.state, "failing") == 0 || strcmp(s.state, "expired") == 0;
		if (!(item = status_json(&s)) || cf_json_push(arr, item) != 0)
			goto out;
	}
	if (cf_json_add(doc, "credentials", arr) != 0)
		goto out;
	arr = NULL;
	text = cf_json_print(doc);
out:
	cf_json_free(arr);
	cf_json_free(doc);
	return text;
}

int status_write(const struct agent_config *cfg, int64_t now)
{
	char *text;
	int bad, ret;

	if (!cfg->status_file[0])
		return 0;
	if (!(text = status_text(cfg, now, &bad)))
		return CF_ENOMEM;
	ret = cf_file_write(cfg->status_file, text, strlen(text), 0644, 0);
	free(text);
	return ret;
}

static void print_time(const char *label, int64_t t)
{
	char s[21];

	if (t)
		cf_time_format(t, s);
	printf("  %-13s %s\n", label, t ? s : "-");
}

int status_print(const struct agent_config *cfg, int json, int64_t now)
{
	struct status s;
	char na[21], *text;
	int bad = 0;

	if (json) {
		if (!(text = status_text(cfg, now, &bad))) {
			agent_err("out of memory");
			return AGENT_FAIL;
		}
		puts(text);
		free(text);
		return bad ? AGENT_FAIL : AGENT_OK;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		status_of(&cfg->cred[i], now, &s);
		bad += strcmp(s.state, "failing") == 0 || strcmp(s.state, "expired") == 0;
		cf_time_format(s.cert.not_after, na);
		printf("%s%s (%s)\n", i ? "\n" : "", s.cred->name, s.cred->dir);
		printf("  %-13s %s\n", "state", s.state);
		printf("  %-13s %s\n", "serial", s.cert.serial[0] ? s.cert.serial : "-");
		printf("  %-13s %s\n", "notAfter", s.cert.serial[0] ? na : "-");
		if (s.cert.serial[0])
			printf("  %-13s %ld\n", "days left", s.days_left);
		else
			printf("  %-13s -\n", "days left");
		print_time("next attempt", s.st.next_attempt);
		print_time("last success", s.st.last_success);
		printf("  %-13s %s\n", "last error", s.st.last_error[0] ? s.st.last_error : "-");
	}
	if (fflush(stdout) != 0)
		return AGENT_FAIL;
	return bad ? AGENT_FAIL : AGENT_OK;
}
