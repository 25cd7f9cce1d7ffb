/* test_questions — security answers (normalisation, verifiers, 2-of-3 counting), the emergency
 * code, and the server's seal of small secrets. */
#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "check.h"
#include "core.h"
#include "proof.h"
#include "store.h"

static const uint8_t pepper[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t salt[16] = {1, 1, 2, 3, 5, 8, 13, 21};

static void test_answer_normalisation_trims_collapses_space_and_lowers_ascii(void)
{
	char out[PROOF_ANSWER_MAX + 1];

	CHECK_EQ_INT(proof_answer_normalise("  St   Mary's\t", out), 0);
	CHECK_EQ_STR(out, "st mary's");
	CHECK_EQ_INT(proof_answer_normalise("LONDON", out), 0);
	CHECK_EQ_STR(out, "london");
	CHECK_EQ_INT(proof_answer_normalise("a\r\n\v\fb", out), 0);
	CHECK_EQ_STR(out, "a b");
	/* non-ASCII letters are kept as they are: only ASCII is folded */
	CHECK_EQ_INT(proof_answer_normalise(" \303\211cole  Normale ", out), 0);
	CHECK_EQ_STR(out, "\303\211cole normale");
}

static void test_answer_normalisation_refuses_empty_long_and_bad_utf8(void)
{
	char out[PROOF_ANSWER_MAX + 1], in[300];

	CHECK_EQ_INT(proof_answer_normalise("", out), CF_EMALFORMED);
	CHECK_EQ_INT(proof_answer_normalise(" \t\n ", out), CF_EMALFORMED);
	CHECK_EQ_INT(proof_answer_normalise(NULL, out), CF_EMALFORMED);
	memset(in, 'a', 128);
	in[128] = '\0';
	CHECK_EQ_INT(proof_answer_normalise(in, out), 0); /* 128 octets: the limit */
	in[128] = 'a';
	in[129] = '\0';
	CHECK_EQ_INT(proof_answer_normalise(in, out), CF_EMALFORMED);
	/* white space around 128 octets does not count */
	memset(in, ' ', 10);
	memset(in + 10, 'b', 128);
	memset(in + 138, ' ', 10);
	in[148] = '\0';
	CHECK_EQ_INT(proof_answer_normalise(in, out), 0);
	CHECK_EQ_INT(proof_answer_normalise("caf\xc3", out), CF_EMALFORMED);	  /* cut */
	CHECK_EQ_INT(proof_answer_normalise("\xc0\xaf", out), CF_EMALFORMED);	  /* overlong */
	CHECK_EQ_INT(proof_answer_normalise("\xed\xa0\x80", out), CF_EMALFORMED); /* surrogate */
}

static void test_verifier_is_the_same_for_answers_that_normalise_alike(void)
{
	uint8_t a[32], b[32], c[32];

	CHECK_EQ_INT(proof_answer_verifier(pepper, sizeof(pepper), "St Mary's", salt, 1000, a), 0);
	CHECK_EQ_INT(proof_answer_verifier(pepper, sizeof(pepper), "  st  MARY'S ", salt, 1000, b),
		     0);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK_EQ_INT(proof_answer_verifier(pepper, sizeof(pepper), "St Marys", salt, 1000, c), 0);
	CHECK(memcmp(a, c, 32) != 0);
	/* another pepper (server key) gives another verifier */
	CHECK_EQ_INT(proof_answer_verifier(salt, sizeof(salt), "St Mary's", salt, 1000, c), 0);
	CHECK(memcmp(a, c, 32) != 0);
	CHECK_EQ_INT(proof_answer_verifier(pepper, sizeof(pepper), " ", salt, 1000, c),
		     CF_EMALFORMED);
}

static void test_answers_right_counts_each_matching_answer_in_its_place(void)
{
	static const char *const answers[3] = {"one", "two", "three"};
	struct store_questions q;
	uint8_t derived[3][32];
	int i;

	memset(&q, 0, sizeof(q));
	memcpy(q.salt, salt, sizeof(salt));
	q.iterations = 1000;
	for (i = 0; i < 3; i++)
		CHECK_EQ_INT(proof_answer_verifier(pepper, sizeof(pepper), answers[i], q.salt,
						   q.iterations, q.verifier[i]),
			     0);
	memcpy(derived, q.verifier, sizeof(derived));
	CHECK_EQ_INT(proof_answers_right((const uint8_t(*)[32])derived, &q), 3);
	derived[1][0] ^= 1;
	CHECK_EQ_INT(proof_answers_right((const uint8_t(*)[32])derived, &q), 2);
	derived[2][31] ^= 0x80;
	CHECK_EQ_INT(proof_answers_right((const uint8_t(*)[32])derived, &q), 1);
	/* right answers in the wrong places do not count */
	memcpy(derived[0], q.verifier[1], 32);
	memcpy(derived[1], q.verifier[2], 32);
	memcpy(derived[2], q.verifier[0], 32);
	CHECK_EQ_INT(proof_answers_right((const uint8_t(*)[32])derived, &q), 0);
}

static void test_emergency_code_is_sixteen_characters_in_four_groups(void)
{
	const struct proof_method *m = proof_find("emergency-code");
	char code[PROOF_EMERGENCY_DISPLAY + 1], norm[PROOF_EMERGENCY_CHARS + 1];
	uint8_t mac[32], derived[PROOF_VERIFIER_MAX];
	size_t len = 0;
	int i;

	CHECK(m != NULL);
	CHECK_EQ_INT(proof_emergency_generate(pepper, sizeof(pepper), code, mac), 0);
	CHECK_EQ_INT(strlen(code), 19);
	for (i = 0; i < 19; i++)
		CHECK(i % 5 == 4 ? code[i] == '-'
				 : strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]) != NULL);
	CHECK_EQ_INT(proof_emergency_normalise(code, norm), 0);
	CHECK_EQ_INT(strlen(norm), 16);
	for (i = 0; code[i]; i++) /* typed in lower case with spaces */
		code[i] = code[i] == '-' ? ' ' : (char)(code[i] >= 'A' ? code[i] + 32 : code[i]);
	CHECK_EQ_INT(m->derive(pepper, sizeof(pepper), code, derived, &len), 0);
	CHECK_EQ_INT(m->check(derived, len, mac, 32), 0);
	derived[5] ^= 1;
	CHECK_EQ_INT(m->check(derived, len, mac, 32), CF_EBADCODE);
	/* an activation code's shape is not an emergency code's, and the other way round */
	CHECK_EQ_INT(proof_emergency_normalise("ABCD-EFGH-JKMN-PQRS-TVWX", norm), CF_EBADCODE);
	CHECK_EQ_INT(m->derive(pepper, sizeof(pepper), "ABCD-EFGH-JKMN", derived, &len),
		     CF_EBADCODE);
}

static void test_seal_opens_only_with_its_own_aad_and_server_key(void)
{
	struct core c, other;
	const uint8_t secret[] = "a seed of twenty octets";
	uint8_t sealed[STORE_WRAPPED_MAX], opened[64];
	size_t n = 0, m = 0;

	memset(&c, 0, sizeof(c));
	memset(&other, 0, sizeof(other));
	memset(c.secret, 0x42, sizeof(c.secret));
	memset(other.secret, 0x43, sizeof(other.secret));
	CHECK_EQ_INT(core_seal(&c, "totp:S1", secret, sizeof(secret), sealed, sizeof(sealed), &n),
		     0);
	CHECK_EQ_INT(n, sizeof(secret) + 28);
	CHECK_EQ_INT(core_open(&c, "totp:S1", sealed, n, opened, sizeof(opened), &m), 0);
	CHECK_EQ_INT(m, sizeof(secret));
	CHECK(memcmp(opened, secret, m) == 0);
	CHECK_EQ_INT(core_open(&c, "totp:S2", sealed, n, opened, sizeof(opened), &m), CF_ECRYPTO);
	CHECK_EQ_INT(core_open(&other, "totp:S1", sealed, n, opened, sizeof(opened), &m),
		     CF_ECRYPTO);
	sealed[3] ^= 1;
	CHECK_EQ_INT(core_open(&c, "totp:S1", sealed, n, opened, sizeof(opened), &m), CF_ECRYPTO);
	CHECK_EQ_INT(core_seal(&c, "x", secret, sizeof(secret), sealed, sizeof(secret) + 27, &n),
		     CF_EINTERNAL);
}

int main(void)
{
	RUN(test_answer_normalisation_trims_collapses_space_and_lowers_ascii);
	RUN(test_answer_normalisation_refuses_empty_long_and_bad_utf8);
	RUN(test_verifier_is_the_same_for_answers_that_normalise_alike);
	RUN(test_answers_right_counts_each_matching_answer_in_its_place);
	RUN(test_emergency_code_is_sixteen_characters_in_four_groups);
	RUN(test_seal_opens_only_with_its_own_aad_and_server_key);
	return check_done();
}
