/* test_proof_activation_code — normalisation, generation and the MAC check of activation codes. */
#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "check.h"
#include "proof.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static void test_normalisation_drops_dashes_and_maps_confusable_letters(void)
{
	char out[PROOF_CODE_CHARS + 1];

	CHECK_EQ_INT(proof_code_normalise("ABCD-EFGH-JKMN-PQRS-TVWX", out), 0);
	CHECK_EQ_STR(out, "ABCDEFGHJKMNPQRSTVWX");
	CHECK_EQ_INT(proof_code_normalise("abcd efgh-jkmn pqrs-tvwx", out), 0);
	CHECK_EQ_STR(out, "ABCDEFGHJKMNPQRSTVWX");
	CHECK_EQ_INT(proof_code_normalise("oOiI-lL00-1111-2222-3333", out), 0);
	CHECK_EQ_STR(out, "00111100111122223333");
	CHECK_EQ_INT(proof_code_normalise("--ABCDEFGHJKMNPQRSTVWX--", out), 0);
}

static void test_normalisation_refuses_wrong_length_or_alphabet(void)
{
	char out[PROOF_CODE_CHARS + 1];

	CHECK_EQ_INT(proof_code_normalise("ABCD-EFGH-JKMN-PQRS-TVW", out), CF_EBADCODE);
	CHECK_EQ_INT(proof_code_normalise("ABCD-EFGH-JKMN-PQRS-TVWXY", out), CF_EBADCODE);
	CHECK_EQ_INT(proof_code_normalise("ABCD-EFGH-JKMN-PQRS-TVWU", out), CF_EBADCODE); /* U */
	CHECK_EQ_INT(proof_code_normalise("ABCD_EFGH_JKMN_PQRS_TVWX", out), CF_EBADCODE);
	CHECK_EQ_INT(proof_code_normalise("", out), CF_EBADCODE);
	CHECK_EQ_INT(proof_code_normalise(NULL, out), CF_EBADCODE);
}

static void test_generated_code_is_shown_in_five_groups_of_four(void)
{
	char code[PROOF_CODE_DISPLAY + 1], other[PROOF_CODE_DISPLAY + 1],
	    norm[PROOF_CODE_CHARS + 1];
	uint8_t mac[32], mac2[32];
	int i;

	CHECK_EQ_INT(proof_code_generate(key, sizeof(key), code, mac), 0);
	CHECK_EQ_INT(strlen(code), 24);
	for (i = 0; i < 24; i++) {
		if (i % 5 == 4)
			CHECK(code[i] == '-');
		else
			CHECK(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]) != NULL);
	}
	CHECK_EQ_INT(proof_code_normalise(code, norm), 0);
	CHECK_EQ_INT(cf_hmac_sha256(key, sizeof(key), norm, strlen(norm), mac2), 0);
	CHECK(memcmp(mac, mac2, 32) == 0);
	CHECK_EQ_INT(proof_code_generate(key, sizeof(key), other, mac2), 0);
	CHECK(strcmp(code, other) != 0);
}

static void test_right_code_matches_in_any_case_and_wrong_code_does_not(void)
{
	const struct proof_method *m = proof_find("activation-code");
	char code[PROOF_CODE_DISPLAY + 1], lower[PROOF_CODE_DISPLAY + 1];
	uint8_t mac[32], v[PROOF_VERIFIER_MAX];
	size_t vlen = 0, i;

	CHECK(m == &proof_activation_code);
	CHECK(proof_find("no-such-proof") == NULL);
	CHECK_EQ_INT(proof_code_generate(key, sizeof(key), code, mac), 0);
	for (i = 0; i <= strlen(code); i++)
		lower[i] = (char)((code[i] >= 'A' && code[i] <= 'Z') ? code[i] + 32 : code[i]);
	CHECK_EQ_INT(m->derive(key, sizeof(key), lower, v, &vlen), 0);
	CHECK_EQ_INT(vlen, 32);
	CHECK_EQ_INT(m->check(v, vlen, mac, sizeof(mac)), 0);
	/* another key (another server) does not match */
	CHECK_EQ_INT(m->derive((const uint8_t *)"other key", 9, code, v, &vlen), 0);
	CHECK_EQ_INT(m->check(v, vlen, mac, sizeof(mac)), CF_EBADCODE);
	/* one character off does not match */
	code[0] = code[0] == 'A' ? 'B' : 'A';
	CHECK_EQ_INT(m->derive(key, sizeof(key), code, v, &vlen), 0);
	CHECK_EQ_INT(m->check(v, vlen, mac, sizeof(mac)), CF_EBADCODE);
	CHECK_EQ_INT(m->derive(key, sizeof(key), "short", v, &vlen), CF_EBADCODE);
}

static void test_fifth_failure_locks(void)
{
	int failures = 0, i;

	for (i = 1; i < 5; i++)
		CHECK_EQ_INT(proof_count_failure(&failures, 5), CF_EBADCODE);
	CHECK_EQ_INT(proof_count_failure(&failures, 5), CF_ELOCKED);
	CHECK_EQ_INT(failures, 5);
	CHECK_EQ_INT(proof_activation_code.max_failures, 5);
}

int main(void)
{
	RUN(test_normalisation_drops_dashes_and_maps_confusable_letters);
	RUN(test_normalisation_refuses_wrong_length_or_alphabet);
	RUN(test_generated_code_is_shown_in_five_groups_of_four);
	RUN(test_right_code_matches_in_any_case_and_wrong_code_does_not);
	RUN(test_fifth_failure_locks);
	return check_done();
}
