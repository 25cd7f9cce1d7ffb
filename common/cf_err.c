/* cf_err — the tables behind cf_err.h; nothing else. */
#include "cf_err.h"

#include <string.h>

struct cf_err_row {
	int code;
	const char *name;
	int status;
	const char *title;
};

static const struct cf_err_row rows[] = {
#define CF_ERR_ROW(sym, val, name, status, title) {sym, name, status, title},
	CF_ERRORS(CF_ERR_ROW)
#undef CF_ERR_ROW
};

static const struct cf_err_row *find(int code)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].code == code)
			return &rows[i];
	return NULL;
}

const char *cf_strerror(int code)
{
	const struct cf_err_row *r = find(code);
	if (code == CF_OK)
		return "Success";
	return r ? r->title : "Unknown error";
}

const char *cf_err_problem(int code)
{
	const struct cf_err_row *r = find(code);
	return r ? r->name : "serverInternal";
}

int cf_err_status(int code)
{
	const struct cf_err_row *r = find(code);
	return r ? r->status : 500;
}

int cf_err_from_problem(const char *name)
{
	for (size_t i = 0; name && i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].code;
	return CF_EPROTO;
}
