/* test_core_renewal_window — renewal windows and validity per profile, status names. */
#include <string.h>

#include "cf_err.h"
#include "check.h"
#include "core.h"

#define DAY 86400LL

static void test_device_window_is_the_last_third(void)
{
	struct core_config cfg;
	int64_t s = 0, e = 0, nb = 1700000000, na = nb + 365 * DAY;

	core_config_defaults(&cfg);
	CHECK_EQ_INT(core_renewal_window(&cfg, "device", nb, na, &s, &e), 0);
	CHECK_EQ_INT(e, na);
	CHECK_EQ_INT(s, na - (na - nb) / 3);
	CHECK(s > nb + 243 * DAY && s < nb + 244 * DAY);
}

static void test_signing_window_opens_90_days_before_expiry(void)
{
	struct core_config cfg;
	int64_t s = 0, e = 0, nb = 1700000000, na = nb + 1095 * DAY;

	core_config_defaults(&cfg);
	CHECK_EQ_INT(core_renewal_window(&cfg, "signing", nb, na, &s, &e), 0);
	CHECK_EQ_INT(s, na - 90 * DAY);
	CHECK_EQ_INT(e, na);
	cfg.signing_renewal_days = 30;
	CHECK_EQ_INT(core_renewal_window(&cfg, "signing", nb, na, &s, &e), 0);
	CHECK_EQ_INT(s, na - 30 * DAY);
}

static void test_window_never_opens_before_not_before(void)
{
	struct core_config cfg;
	int64_t s = 0, e = 0, nb = 1700000000, na = nb + 10 * DAY;

	core_config_defaults(&cfg);
	CHECK_EQ_INT(core_renewal_window(&cfg, "signing", nb, na, &s, &e), 0);
	CHECK_EQ_INT(s, nb);
}

static void test_unknown_profile_has_no_window_or_validity(void)
{
	struct core_config cfg;
	int64_t s = 0, e = 0, v = 0;

	core_config_defaults(&cfg);
	CHECK_EQ_INT(core_renewal_window(&cfg, "tls", 0, DAY, &s, &e), CF_EMALFORMED);
	CHECK_EQ_INT(core_profile_validity(&cfg, "tls", &v), CF_EMALFORMED);
	CHECK(!core_profile_known("tls"));
	CHECK(!core_profile_known(NULL));
	CHECK(core_profile_known("device") && core_profile_known("signing"));
}

static void test_validity_per_profile_follows_the_config(void)
{
	struct core_config cfg;
	int64_t v = 0;

	core_config_defaults(&cfg);
	CHECK_EQ_INT(core_profile_validity(&cfg, "device", &v), 0);
	CHECK_EQ_INT(v, 365 * DAY);
	CHECK_EQ_INT(core_profile_validity(&cfg, "signing", &v), 0);
	CHECK_EQ_INT(v, 1095 * DAY);
	cfg.device_validity_days = 30;
	CHECK_EQ_INT(core_profile_validity(&cfg, "device", &v), 0);
	CHECK_EQ_INT(v, 30 * DAY);
	CHECK_EQ_INT(cfg.enrolment_code_days, 15);
	CHECK_EQ_INT(cfg.max_activation_attempts, 5);
}

static void test_enrolment_expires_after_its_lifetime(void)
{
	struct store_enrolment e;

	memset(&e, 0, sizeof(e));
	e.state = ENROL_LIVE;
	e.created_at = 1000;
	e.expires_at = 1000 + 15 * DAY;
	CHECK_EQ_STR(core_enrolment_status(&e, 1000 + 15 * DAY - 1), "live");
	CHECK_EQ_STR(core_enrolment_status(&e, 1000 + 15 * DAY), "expired");
	e.state = ENROL_USED;
	CHECK_EQ_STR(core_enrolment_status(&e, 1000 + 16 * DAY), "used");
	e.state = ENROL_LOCKED;
	CHECK_EQ_STR(core_enrolment_status(&e, 1000), "locked");
	e.state = ENROL_CANCELLED;
	CHECK_EQ_STR(core_enrolment_status(&e, 1000), "cancelled");
}

static void test_certificate_and_credential_status_names(void)
{
	struct store_cert c;
	struct store_credential cr;

	memset(&c, 0, sizeof(c));
	memset(&cr, 0, sizeof(cr));
	c.status = CERT_VALID;
	c.not_after = 5000;
	CHECK_EQ_STR(core_cert_status(&c, 4999), "valid");
	CHECK_EQ_STR(core_cert_status(&c, 5000), "expired");
	c.status = CERT_SUSPENDED;
	CHECK_EQ_STR(core_cert_status(&c, 1), "suspended");
	c.status = CERT_REVOKED;
	CHECK_EQ_STR(core_cert_status(&c, 1), "revoked");
	cr.status = CRED_ACTIVE;
	CHECK_EQ_STR(core_credential_status(&cr, 5000, 4999), "active");
	CHECK_EQ_STR(core_credential_status(&cr, 5000, 5000), "expired");
	cr.status = CRED_SUSPENDED;
	CHECK_EQ_STR(core_credential_status(&cr, 5000, 1), "suspended");
	cr.status = CRED_REVOKED;
	CHECK_EQ_STR(core_credential_status(&cr, 5000, 1), "revoked");
}

int main(void)
{
	RUN(test_device_window_is_the_last_third);
	RUN(test_signing_window_opens_90_days_before_expiry);
	RUN(test_window_never_opens_before_not_before);
	RUN(test_unknown_profile_has_no_window_or_validity);
	RUN(test_validity_per_profile_follows_the_config);
	RUN(test_enrolment_expires_after_its_lifetime);
	RUN(test_certificate_and_credential_status_names);
	return check_done();
}
