/* test_notify_config — the config keys of the outbox and of the human journeys: every key
 * reaches its field, out-of-range values and inconsistent combinations are refused. */
#include "check.h"
#include "cf_err.h"
#include "config.h"

#include <string.h>

static char err[600];

static int set(struct config *c, const char *key, const char *value)
{
	err[0] = '\0';
	return config_set(c, key, value, err, sizeof(err));
}

static void test_journey_and_outbox_keys_reach_their_fields(void)
{
	struct config c;

	config_defaults(&c);
	CHECK_EQ_INT(c.core.kdf_iterations, 600000);
	CHECK_EQ_INT(c.notify.max_attempts, 8);
	CHECK_EQ_INT(c.notify.retry_base_secs, 30);
	CHECK_EQ_INT(c.notify.retry_max_secs, 3600);
	CHECK_EQ_STR(c.notify.maildir, "");
	CHECK_EQ_INT(set(&c, "kdf_iterations", "1000"), 0);
	CHECK_EQ_INT(c.core.kdf_iterations, 1000);
	CHECK_EQ_INT(set(&c, "auto_approve", "device,signing"), 0);
	CHECK_EQ_STR(c.core.auto_approve, "device,signing");
	CHECK_EQ_INT(set(&c, "questions_required", "3"), 0);
	CHECK_EQ_INT(c.core.questions_required, 3);
	CHECK_EQ_INT(set(&c, "recovery_otp", "0"), 0);
	CHECK_EQ_INT(c.core.recovery_otp, 0);
	CHECK_EQ_INT(set(&c, "otp_digits", "8"), 0);
	CHECK_EQ_INT(c.core.otp_digits, 8);
	CHECK_EQ_INT(set(&c, "otp_resend_secs", "0"), 0);
	CHECK_EQ_INT(c.core.otp_resend_secs, 0);
	CHECK_EQ_INT(set(&c, "emergency_max_failures", "3"), 0);
	CHECK_EQ_INT(c.core.emergency_max_failures, 3);
	CHECK_EQ_INT(set(&c, "maildir", "/var/spool/certflow"), 0);
	CHECK_EQ_STR(c.notify.maildir, "/var/spool/certflow");
	CHECK_EQ_INT(set(&c, "email_command", "/usr/sbin/sendmail -i"), 0);
	CHECK_EQ_STR(c.notify.email_command, "/usr/sbin/sendmail -i");
	CHECK_EQ_INT(set(&c, "mail_from", "ca@example.org"), 0);
	CHECK_EQ_INT(set(&c, "notify_retry_base", "5"), 0);
	CHECK_EQ_INT(set(&c, "notify_retry_max", "60"), 0);
	CHECK_EQ_INT(set(&c, "notify_max_attempts", "3"), 0);
	CHECK_EQ_INT(c.notify.retry_base_secs, 5);
	CHECK_EQ_INT(c.notify.retry_max_secs, 60);
	CHECK_EQ_INT(c.notify.max_attempts, 3);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
}

static void test_out_of_range_values_are_refused(void)
{
	static const char *bad[][2] = {
	    {"kdf_iterations", "999"},	 {"questions_required", "4"},  {"questions_required", "0"},
	    {"recovery_otp", "2"},	 {"otp_digits", "5"},	       {"otp_step_secs", "0"},
	    {"link_token_minutes", "0"}, {"notify_max_attempts", "0"}, {"notify_retry_base", "-1"},
	    {"sms_otp_minutes", "x"},
	};
	struct config c;

	config_defaults(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(set(&c, bad[i][0], bad[i][1]), CF_EUSAGE);
		CHECK(strstr(err, bad[i][0]) != NULL);
	}
	CHECK_EQ_INT(c.core.kdf_iterations, 600000);
}

static void test_inconsistent_outbox_settings_are_refused(void)
{
	struct config c;

	config_defaults(&c);
	set(&c, "notify_retry_base", "600");
	set(&c, "notify_retry_max", "60");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "notify_retry_base") != NULL);

	config_defaults(&c);
	set(&c, "maildir", "off");
	set(&c, "email_command", "/usr/sbin/sendmail -i");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "sms_command") != NULL);

	config_defaults(&c);
	set(&c, "mail_from", "certflow <ca@example.org>");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);

	config_defaults(&c);
	set(&c, "auto_approve", "device,server");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "server") != NULL);
}

int main(void)
{
	RUN(test_journey_and_outbox_keys_reach_their_fields);
	RUN(test_out_of_range_values_are_refused);
	RUN(test_inconsistent_outbox_settings_are_refused);
	return check_done();
}
