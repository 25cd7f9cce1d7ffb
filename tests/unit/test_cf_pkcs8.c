/* test_cf_pkcs8 — encrypted private key files (PKCS#8 PBES2, PBKDF2-HMAC-SHA-256 + AES-256-CBC)
 * against openssl(1): ours open with `openssl pkey -passin`, openssl's load with ours. */
#include "check.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"

#define PASSWORD "Key-Pass-42!"
#define ITER 10000

static char dir[512];

/* path of name in the test directory (static buffer, one at a time per slot) */
static const char *at(const char *name, int slot)
{
	static char paths[4][700];

	snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", dir, name);
	return paths[slot];
}

/* Exit status of the shell command fmt (stdout and stderr to /dev/null). */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text)
{
	CHECK_EQ_INT(cf_file_write(path, text, strlen(text), 0600, 0), 0);
}

static void setup(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	if (!base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/cf_pkcs8.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	write_text(at("pw", 0), PASSWORD);
	write_text(at("wrong", 0), "Key-Pass-43!");
}

/* Save key encrypted and check it with openssl and with cf_key_load_password. */
static void check_saved_key_opens_with_openssl(enum cf_key_type type, unsigned bits)
{
	cf_key *key = NULL, *back = NULL;
	const char *f = at("enc.pem", 1);
	struct stat st;

	CHECK_EQ_INT(cf_key_generate(type, bits, &key), 0);
	if (!key)
		return;
	CHECK_EQ_INT(cf_key_save_encrypted(key, f, PASSWORD, ITER), 0);
	CHECK_EQ_INT(stat(f, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(cf_key_file_is_encrypted(f), 1);
	{
		uint32_t iter = 0;
		CHECK_EQ_INT(cf_key_file_iterations(f, &iter), 0);
		CHECK_EQ_INT(iter, ITER);
	}
	/* openssl reads it with the password, refuses it without the right one */
	CHECK_EQ_INT(run("openssl pkey -in %s -passin file:%s -noout", f, at("pw", 2)), 0);
	CHECK(run("openssl pkey -in %s -passin file:%s -noout", f, at("wrong", 2)) != 0);
	/* and the same public key comes out of openssl */
	CHECK_EQ_INT(run("openssl pkey -in %s -passin file:%s -pubout -out %s", f, at("pw", 2),
			 at("pub.pem", 3)),
		     0);
	CHECK_EQ_INT(cf_key_load(at("pub.pem", 3), &back), 0);
	CHECK(back && cf_key_public_equal(key, back));
	cf_key_free(back);
	back = NULL;
	/* the structure is PBES2 / PBKDF2 / hmacWithSHA256 / aes-256-cbc */
	CHECK_EQ_INT(run("openssl asn1parse -in %s | grep -q hmacWithSHA256", f), 0);
	CHECK_EQ_INT(run("openssl asn1parse -in %s | grep -q aes-256-cbc", f), 0);
	CHECK_EQ_INT(run("openssl asn1parse -in %s | grep -q PBES2", f), 0);
	/* ours: right password, wrong password, none */
	CHECK_EQ_INT(cf_key_load_password(f, PASSWORD, &back), 0);
	CHECK(back && cf_key_public_equal(key, back) && cf_key_type(back) == type);
	cf_key_free(back);
	back = NULL;
	CHECK_EQ_INT(cf_key_load_password(f, "Key-Pass-43!", &back), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(cf_key_load_password(f, NULL, &back), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(cf_key_load_password(f, "", &back), CF_EBADPASSPHRASE);
	CHECK(back == NULL);
	/* the clear loader does not read it as a key */
	CHECK(cf_key_load(f, &back) != 0);
	cf_key_free(key);
}

static void test_saved_p256_key_opens_with_openssl(void)
{
	check_saved_key_opens_with_openssl(CF_KEY_P256, 0);
}

static void test_saved_p384_key_opens_with_openssl(void)
{
	check_saved_key_opens_with_openssl(CF_KEY_P384, 0);
}

static void test_saved_rsa_key_opens_with_openssl(void)
{
	check_saved_key_opens_with_openssl(CF_KEY_RSA, 2048);
}

/* openssl makes a key and encrypts it as the agent's format; we load it. */
static void check_openssl_key_loads(const char *genpkey_args, enum cf_key_type type)
{
	const char *clear = at("o.pem", 1), *enc = at("o_enc.pem", 2);
	cf_key *ref = NULL, *key = NULL;

	CHECK_EQ_INT(run("openssl genpkey %s -out %s", genpkey_args, clear), 0);
	CHECK_EQ_INT(run("openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 2048 "
			 "-in %s -passout file:%s -out %s",
			 clear, at("pw", 3), enc),
		     0);
	CHECK_EQ_INT(cf_key_file_is_encrypted(enc), 1);
	CHECK_EQ_INT(cf_key_file_is_encrypted(clear), 0);
	{
		uint32_t iter = 0;
		CHECK_EQ_INT(cf_key_file_iterations(enc, &iter), 0);
		CHECK_EQ_INT(iter, 2048);
		CHECK_EQ_INT(cf_key_file_iterations(clear, &iter), CF_EBADKEY);
	}
	CHECK_EQ_INT(cf_key_load(clear, &ref), 0);
	CHECK_EQ_INT(cf_key_load_password(enc, PASSWORD, &key), 0);
	CHECK(ref && key && cf_key_public_equal(ref, key) && cf_key_type(key) == type);
	cf_key_free(key);
	key = NULL;
	CHECK_EQ_INT(cf_key_load_password(enc, "Key-Pass-43!", &key), CF_EBADPASSPHRASE);
	/* a clear key loads with or without a password */
	CHECK_EQ_INT(cf_key_load_password(clear, NULL, &key), 0);
	cf_key_free(key);
	key = NULL;
	CHECK_EQ_INT(cf_key_load_password(clear, PASSWORD, &key), 0);
	cf_key_free(key);
	cf_key_free(ref);
}

static void test_openssl_encrypted_keys_load(void)
{
	check_openssl_key_loads("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", CF_KEY_P256);
	check_openssl_key_loads("-algorithm EC -pkeyopt ec_paramgen_curve:P-384", CF_KEY_P384);
	check_openssl_key_loads("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", CF_KEY_RSA);
}

static void test_other_encryption_schemes_are_refused(void)
{
	const char *clear = at("o.pem", 1), *enc = at("o3des.pem", 2);
	cf_key *key = NULL;

	/* PBES2 with the default PRF (HMAC-SHA-1) and 3DES: a key file, but not our format */
	CHECK_EQ_INT(
	    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s", clear),
	    0);
	CHECK_EQ_INT(run("openssl pkcs8 -topk8 -v2 des3 -v2prf hmacWithSHA1 -in %s -passout "
			 "file:%s -out %s",
			 clear, at("pw", 3), enc),
		     0);
	CHECK_EQ_INT(cf_key_file_is_encrypted(enc), 1);
	CHECK_EQ_INT(cf_key_load_password(enc, PASSWORD, &key), CF_EBADKEY);
	/* OpenSSL's traditional encrypted PEM is recognised as encrypted and refused */
	CHECK_EQ_INT(
	    run("openssl ec -in %s -aes256 -passout file:%s -out %s", clear, at("pw", 3), enc), 0);
	CHECK_EQ_INT(cf_key_file_is_encrypted(enc), 1);
	CHECK_EQ_INT(cf_key_load_password(enc, PASSWORD, &key), CF_EBADKEY);
	CHECK(key == NULL);
}

static void test_damaged_ciphertext_is_bad_passphrase(void)
{
	cf_key *key = NULL, *back = NULL;
	const char *f = at("dam.pem", 1);
	char *text = NULL, *pem;
	uint8_t der[1024];
	size_t len = 0, der_len = 0;
	const char *b64, *end;

	CHECK_EQ_INT(cf_key_generate(CF_KEY_P256, 0, &key), 0);
	CHECK_EQ_INT(cf_key_save_encrypted(key, f, PASSWORD, ITER), 0);
	CHECK_EQ_INT(cf_file_read(f, 65536, &text, &len), 0);
	b64 = text ? strchr(text, '\n') + 1 : NULL;
	end = text ? strstr(text, "-----END") : NULL;
	CHECK(b64 && end &&
	      mbedtls_base64_decode(der, sizeof(der), &der_len, (const unsigned char *)b64,
				    (size_t)(end - b64)) == 0);
	/* for P-256 the parameters take 101 octets and the ciphertext (160 octets) follows: a
	 * change in its first block garbles the PrivateKeyInfo header. (CBC has no integrity:
	 * damage further in may yield a wrong key, which the agent's key/certificate check
	 * catches.) */
	CHECK(der_len > 120 && der[101] == 0x04 && der[102] == 0x81 && der[103] == 0xa0);
	if (der_len > 120) {
		der[110] ^= 0x01;
		pem = cf_pem_encode("ENCRYPTED PRIVATE KEY", der, der_len);
		write_text(f, pem);
		free(pem);
		CHECK_EQ_INT(cf_key_load_password(f, PASSWORD, &back), CF_EBADPASSPHRASE);
	}
	free(text);
	CHECK_EQ_INT(cf_key_save_encrypted(key, f, PASSWORD, 999), CF_EUSAGE);
	CHECK_EQ_INT(cf_key_save_encrypted(key, f, "", ITER), CF_EUSAGE);
	CHECK_EQ_INT(cf_key_load_password(at("missing.pem", 2), PASSWORD, &back), CF_EIO);
	CHECK_EQ_INT(cf_key_file_is_encrypted(at("missing.pem", 2)), CF_EIO);
	cf_key_free(key);
}

int main(void)
{
	setup();
	RUN(test_saved_p256_key_opens_with_openssl);
	RUN(test_saved_p384_key_opens_with_openssl);
	RUN(test_saved_rsa_key_opens_with_openssl);
	RUN(test_openssl_encrypted_keys_load);
	RUN(test_other_encryption_schemes_are_refused);
	RUN(test_damaged_ciphertext_is_bad_passphrase);
	run("rm -rf %s", dir);
	return check_done();
}
