/*
 * cf_policy — the password policy of spec/protocol.md §16.3. Characters are Unicode code points
 * of UTF-8 text; only ASCII letters count as upper or lower case, only ASCII digits as digits,
 * only ASCII punctuation and the space as special characters. The password itself never appears
 * in a reason.
 */
#include "cf_policy.h"
#include "cf_err.h"
#include "cf_utf8.h"

#include <stdint.h>
#include <string.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 128
#define REPEAT_MAX 2

int cf_password_check(const char *password, const char **why)
{
	const char *p = password;
	int lower = 0, upper = 0, digit = 0, special = 0, run = 0;
	int32_t prev = -1;
	size_t chars = 0;
	const char *reason = NULL;

	if (!password) {
		reason = "is missing";
		goto out;
	}
	while (*p) {
		int32_t cp = cf_utf8_next(&p);
		if (cp < 0) {
			reason = "must be valid UTF-8";
			goto out;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			reason = "must not contain control characters";
			goto out;
		}
		chars++;
		lower |= cp >= 'a' && cp <= 'z';
		upper |= cp >= 'A' && cp <= 'Z';
		digit |= cp >= '0' && cp <= '9';
		special |= cp < 0x80 && (cp == ' ' || strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
							     (int)cp) != NULL);
		run = cp == prev ? run + 1 : 1;
		prev = cp;
		if (run > REPEAT_MAX && !reason)
			reason = "must not repeat a character more than twice in a row";
	}
	if (chars < PASSWORD_MIN)
		reason = "needs at least 8 characters";
	else if (chars > PASSWORD_MAX)
		reason = "must not be longer than 128 characters";
	else if (!lower)
		reason = "needs a lower-case letter";
	else if (!upper)
		reason = "needs an upper-case letter";
	else if (!digit)
		reason = "needs a digit";
	else if (!special)
		reason = "needs a special character (ASCII punctuation or space)";
out:
	if (!reason)
		return 0;
	if (why)
		*why = reason;
	return CF_EWEAKPASSWORD;
}
