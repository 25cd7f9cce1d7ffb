/*
 * cmd_login — `login unlock USER_ID`: reset the failed logins of a holder's portal login
 * (admin/login-unlock, spec/protocol.md §23). Never sees a password.
 */
#include "admin.h"

#include <string.h>

#include "cf_err.h"

#define USER_ID_MAX 64

static const struct field login_fields[] = {
    {"user id", "userId", F_TEXT},
    {"subject", "subject", F_TEXT},
    {"failures", "failures", F_TEXT},
    {"must change password", "mustChangePassword", F_TEXT},
};

int cmd_login_unlock(struct admin *ad, int argc, char **argv)
{
	const char *user_id = arg_single(argc, argv, "USER_ID");

	if (!user_id)
		return CF_EUSAGE;
	if (strlen(user_id) > USER_ID_MAX)
		return admin_usage("USER_ID too long");
	return admin_simple_op(ad, "login-unlock", "userId", user_id, -1, login_fields,
			       sizeof(login_fields) / sizeof(login_fields[0]));
}
