/* test_cf_policy — each rule of the password policy (spec/protocol.md §16.3). */
#include "check.h"

#include "cf_err.h"
#include "cf_policy.h"

/* The reason given for password, or NULL when it passes. */
static const char *reason(const char *password)
{
	const char *why = NULL;
	int ret = cf_password_check(password, &why);

	if (ret == 0)
		return NULL;
	CHECK_EQ_INT(ret, CF_EWEAKPASSWORD);
	CHECK(why != NULL);
	return why ? why : "?";
}

static void test_password_with_every_class_passes(void)
{
	CHECK(reason("Tr0ub4dor&3") == NULL);
	CHECK(reason("Aa1 bcde") == NULL); /* a space is a special character */
	CHECK_EQ_INT(cf_password_check("Tr0ub4dor&3", NULL), 0);
}

static void test_password_length_is_8_to_128_characters(void)
{
	char long_pw[200];

	CHECK_EQ_STR(reason("Aa1!bcd"), "needs at least 8 characters");
	CHECK(reason("Aa1!bcde") == NULL); /* exactly 8 */
	/* 128 and 129 characters with no three in a row */
	memset(long_pw, 0, sizeof(long_pw));
	memcpy(long_pw, "Aa1!", 4);
	for (int i = 4; i < 128; i++)
		long_pw[i] = (char)('a' + i % 26);
	CHECK(reason(long_pw) == NULL);
	long_pw[128] = 'x';
	CHECK_EQ_STR(reason(long_pw), "must not be longer than 128 characters");
	CHECK_EQ_STR(reason(""), "needs at least 8 characters");
	CHECK_EQ_STR(reason(NULL), "is missing");
}

static void test_password_counts_characters_not_octets(void)
{
	/* 8 characters, 10 octets: "é" and "ß" are two octets each */
	CHECK(reason("Aa1!bc\xc3\xa9\xc3\x9f") == NULL);
	/* 7 characters in 9 octets is too short */
	CHECK_EQ_STR(reason("Aa1!\xc3\xa9\xc3\x9f"), "needs at least 8 characters");
}

static void test_password_needs_each_class(void)
{
	CHECK_EQ_STR(reason("AB12!CDEF"), "needs a lower-case letter");
	CHECK_EQ_STR(reason("ab12!cdef"), "needs an upper-case letter");
	CHECK_EQ_STR(reason("Abcd!efgh"), "needs a digit");
	CHECK_EQ_STR(reason("Abcd1efgh"), "needs a special character (ASCII punctuation or space)");
}

static void test_non_ascii_letters_are_neither_upper_nor_lower(void)
{
	/* "É" (U+00C9) is not an upper-case letter here, "é" not a lower-case one */
	CHECK_EQ_STR(reason("\xc3\x89"
			    "bcd1!efg"),
		     "needs an upper-case letter");
	CHECK_EQ_STR(reason("\xc3\xa9"
			    "BCD1!EFG"),
		     "needs a lower-case letter");
	/* nor is a non-ASCII symbol a special character: "€" */
	CHECK_EQ_STR(reason("Abcd1efg\xe2\x82\xac"),
		     "needs a special character (ASCII punctuation or space)");
}

static void test_three_identical_characters_in_a_row_are_refused(void)
{
	CHECK(reason("Aa1!bcdaa") == NULL); /* two in a row */
	CHECK_EQ_STR(reason("Aa1!bcaaa"), "must not repeat a character more than twice in a row");
	CHECK_EQ_STR(reason("Aa1!!!bcd"), "must not repeat a character more than twice in a row");
	/* repeats of a multi-octet character count as characters */
	CHECK_EQ_STR(reason("Aa1!\xc3\xa9\xc3\xa9\xc3\xa9x"),
		     "must not repeat a character more than twice in a row");
	CHECK(reason("Aa1!\xc3\xa9\xc3\xa9xy") == NULL);
}

static void test_invalid_utf8_and_control_characters_are_refused(void)
{
	CHECK_EQ_STR(reason("Aa1!bcd\xff"), "must be valid UTF-8");
	CHECK_EQ_STR(reason("Aa1!bcd\xc3"), "must be valid UTF-8");	    /* truncated */
	CHECK_EQ_STR(reason("Aa1!bcd\xc0\xaf"), "must be valid UTF-8");	    /* overlong */
	CHECK_EQ_STR(reason("Aa1!bcd\xed\xa0\x80"), "must be valid UTF-8"); /* surrogate */
	CHECK_EQ_STR(reason("Aa1!bcd\tx"), "must not contain control characters");
	CHECK_EQ_STR(reason("Aa1!bcde\n"), "must not contain control characters");
}

int main(void)
{
	RUN(test_password_with_every_class_passes);
	RUN(test_password_length_is_8_to_128_characters);
	RUN(test_password_counts_characters_not_octets);
	RUN(test_password_needs_each_class);
	RUN(test_non_ascii_letters_are_neither_upper_nor_lower);
	RUN(test_three_identical_characters_in_a_row_are_refused);
	RUN(test_invalid_utf8_and_control_characters_are_refused);
	return check_done();
}
