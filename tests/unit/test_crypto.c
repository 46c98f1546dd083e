/*  test_crypto -- unit tests for dn_crypto.

    Known answers come from FIPS 180-2 (SHA-256) and RFC 8032 section 7.1
    (Ed25519), so a wrong wiring of OpenSSL cannot pass by agreeing with
    itself.  Key files go to a fresh mkdtemp directory that is removed at the
    end of each test.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dn_crypto.h"
#include "dn_error.h"

/*  RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).  */
static const char s_test1_secret[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char s_test1_public[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char s_test1_signature[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974"
                                        "d873e065224901555fb8821590a33bacc61e3970"
                                        "1cf9b46bd25bf5f0595bbe24655141438e7a100b";
static const char s_test2_secret[] =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
static const char s_test2_public[] =
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
static const char s_test2_signature[] = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8f"
                                        "b3762223ebdb69da085ac1e43e15996e458f3613"
                                        "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

/*  A temporary directory and a file name inside it.  */
typedef struct {
    char dir[64];
    char path[128];
} s_tmp_t;

static int s_tmp_setup(void **state)
{
    s_tmp_t *tmp = calloc(1, sizeof *tmp);
    if (tmp == NULL)
        return -1;
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (snprintf(tmp->dir, sizeof tmp->dir, "%s/dn_crypto.XXXXXX", base) >=
            (int)sizeof tmp->dir ||
        mkdtemp(tmp->dir) == NULL) {
        free(tmp);
        return -1;
    }
    snprintf(tmp->path, sizeof tmp->path, "%s/site.key", tmp->dir);
    *state = tmp;
    return 0;
}

static int s_tmp_teardown(void **state)
{
    s_tmp_t *tmp = *state;
    unlink(tmp->path);
    int rc = rmdir(tmp->dir); /* fails, and so fails the test, if anything is left */
    free(tmp);
    return rc;
}

static void s_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static void s_read_file(const char *path, char *buf, size_t size)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    size_t n = fread(buf, 1, size - 1, file);
    buf[n] = '\0';
    fclose(file);
}

static void s_from_hex(const char *text, uint8_t *data, size_t len)
{
    assert_int_equal(dn_hex_decode(text, data, len), 0);
}

static void s_assert_sha256(const void *data, size_t len, const char *expected)
{
    uint8_t digest[DN_HASH_BYTES];
    char text[2 * DN_HASH_BYTES + 1];
    assert_int_equal(dn_sha256(data, len, digest), 0);
    dn_hex_encode(digest, sizeof digest, text);
    assert_string_equal(text, expected);
}

static void test_sha256_known_answers(void **state)
{
    (void)state;
    s_assert_sha256("", 0,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_assert_sha256(NULL, 0,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_assert_sha256("abc", 3,
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    s_assert_sha256(two_blocks, strlen(two_blocks),
                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_hex(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char text[2 * sizeof bytes + 1];
    memset(text, 'x', sizeof text);
    dn_hex_encode(bytes, sizeof bytes, text);
    assert_string_equal(text, "00017f80abff");
    dn_hex_encode(bytes, 0, text);
    assert_string_equal(text, "");

    uint8_t back[sizeof bytes];
    assert_int_equal(dn_hex_decode("00017f80abff", back, sizeof back), 0);
    assert_memory_equal(back, bytes, sizeof bytes);
    memset(back, 0, sizeof back);
    assert_int_equal(dn_hex_decode("00017F80ABFF", back, sizeof back), 0);
    assert_memory_equal(back, bytes, sizeof bytes);
    assert_int_equal(dn_hex_decode("", back, 0), 0);

    static const char *const bad[] = {
        "00017f80abf",    /* one digit short */
        "00017f80ab",     /* one byte short */
        "00017f80abff0",  /* one digit long */
        "00017f80abff00", /* one byte long */
        "00017f80abfg",   /* not hex */
        "0x017f80abff",   /* prefix */
        " 00017f80abf",   /* space */
        "00017f80abf ",   /* space */
        "00017f80-bff",   /* sign */
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(back, 0xA5, sizeof back);
        int rc = dn_hex_decode(bad[i], back, sizeof back);
        if (rc != DN_EPARSE)
            fail_msg("\"%s\": rc %d, want DN_EPARSE", bad[i] ? bad[i] : "(null)", rc);
        for (size_t b = 0; b < sizeof back; b++)
            assert_int_equal(back[b], 0xA5); /* untouched */
    }
    assert_int_equal(dn_hex_decode("00", back, 0), DN_EPARSE);
}

/*  Checks one RFC 8032 vector: public key, exact signature, verification,
    and refusal of each of a few single-bit changes.  */
static void s_check_rfc8032(const char *secret_hex, const char *public_hex,
                            const uint8_t *msg, size_t len, const char *signature_hex)
{
    uint8_t seed[32], want_pub[DN_PUBKEY_BYTES], want_sig[DN_SIG_BYTES];
    s_from_hex(secret_hex, seed, sizeof seed);
    s_from_hex(public_hex, want_pub, sizeof want_pub);
    s_from_hex(signature_hex, want_sig, sizeof want_sig);

    dn_key_t *key = dn_key_from_seed(seed);
    assert_non_null(key);
    uint8_t pub[DN_PUBKEY_BYTES], sig[DN_SIG_BYTES];
    assert_int_equal(dn_key_public(key, pub), 0);
    assert_memory_equal(pub, want_pub, sizeof pub);
    assert_int_equal(dn_key_sign(key, msg, len, sig), 0);
    assert_memory_equal(sig, want_sig, sizeof sig);
    /* Ed25519 is deterministic: a second signature is the same bytes */
    assert_int_equal(dn_key_sign(key, msg, len, sig), 0);
    assert_memory_equal(sig, want_sig, sizeof sig);
    dn_key_destroy(&key);
    assert_null(key);

    assert_int_equal(dn_ed25519_verify(pub, msg, len, sig), 0);

    /* one flipped bit in R, in S (low and high end), in the key, in the message */
    static const int sig_bits[] = {0, 7, 100, 255, 256, 300, 511};
    for (size_t i = 0; i < sizeof sig_bits / sizeof sig_bits[0]; i++) {
        uint8_t bad[DN_SIG_BYTES];
        memcpy(bad, sig, sizeof bad);
        bad[sig_bits[i] / 8] ^= (uint8_t)(1u << (sig_bits[i] % 8));
        int rc = dn_ed25519_verify(pub, msg, len, bad);
        if (rc != DN_ESIG)
            fail_msg("signature bit %d flipped: rc %d, want DN_ESIG", sig_bits[i], rc);
    }
    static const int pub_bits[] = {0, 128, 254, 255};
    for (size_t i = 0; i < sizeof pub_bits / sizeof pub_bits[0]; i++) {
        uint8_t bad[DN_PUBKEY_BYTES];
        memcpy(bad, pub, sizeof bad);
        bad[pub_bits[i] / 8] ^= (uint8_t)(1u << (pub_bits[i] % 8));
        int rc = dn_ed25519_verify(bad, msg, len, sig);
        if (rc != DN_ESIG)
            fail_msg("public key bit %d flipped: rc %d, want DN_ESIG", pub_bits[i], rc);
    }
    uint8_t other[1] = {len > 0 ? (uint8_t)(msg[0] ^ 0x01) : 0x00};
    assert_int_equal(dn_ed25519_verify(pub, other, 1, sig), DN_ESIG);
}

static void test_ed25519_rfc8032_test1(void **state)
{
    (void)state;
    s_check_rfc8032(s_test1_secret, s_test1_public, NULL, 0, s_test1_signature);
}

static void test_ed25519_rfc8032_test2(void **state)
{
    (void)state;
    static const uint8_t msg[] = {0x72};
    s_check_rfc8032(s_test2_secret, s_test2_public, msg, sizeof msg, s_test2_signature);
}

static void test_ed25519_malformed_public_key(void **state)
{
    (void)state;
    uint8_t pub[DN_PUBKEY_BYTES], sig[DN_SIG_BYTES];
    s_from_hex(s_test1_signature, sig, sizeof sig);
    /* y = 2^255 - 1 is not below p = 2^255 - 19: not an encoding of a point */
    memset(pub, 0xff, sizeof pub);
    pub[31] = 0x7f;
    assert_int_equal(dn_ed25519_verify(pub, NULL, 0, sig), DN_ESIG);
    memset(pub, 0, sizeof pub);
    assert_int_equal(dn_ed25519_verify(pub, NULL, 0, sig), DN_ESIG);
}

static void test_generate_sign_verify(void **state)
{
    (void)state;
    dn_key_t *a = dn_key_generate();
    dn_key_t *b = dn_key_generate();
    assert_non_null(a);
    assert_non_null(b);
    uint8_t pub_a[DN_PUBKEY_BYTES], pub_b[DN_PUBKEY_BYTES], sig[DN_SIG_BYTES];
    assert_int_equal(dn_key_public(a, pub_a), 0);
    assert_int_equal(dn_key_public(b, pub_b), 0);
    assert_memory_not_equal(pub_a, pub_b, DN_PUBKEY_BYTES);

    const char *batch = "batch 42: sale 12.34 CNY";
    assert_int_equal(dn_key_sign(a, batch, strlen(batch), sig), 0);
    assert_int_equal(dn_ed25519_verify(pub_a, batch, strlen(batch), sig), 0);
    assert_int_equal(dn_ed25519_verify(pub_b, batch, strlen(batch), sig), DN_ESIG);
    assert_int_equal(dn_ed25519_verify(pub_a, batch, strlen(batch) - 1, sig), DN_ESIG);

    dn_key_destroy(&a);
    dn_key_destroy(&b);
    assert_null(a);
    dn_key_destroy(&a); /* NULL is accepted */
    assert_null(a);
}

static void test_save_load(void **state)
{
    s_tmp_t *tmp = *state;
    dn_key_t *key = dn_key_generate();
    assert_non_null(key);
    assert_int_equal(dn_key_save(key, tmp->path), 0);

    struct stat st;
    assert_int_equal(stat(tmp->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);

    char pem[1024];
    s_read_file(tmp->path, pem, sizeof pem);
    assert_int_equal(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28), 0); /* PKCS#8 */
    assert_non_null(strstr(pem, "-----END PRIVATE KEY-----\n"));

    dn_key_t *loaded = dn_key_load(tmp->path);
    assert_non_null(loaded);
    uint8_t pub[DN_PUBKEY_BYTES], pub_loaded[DN_PUBKEY_BYTES], sig[DN_SIG_BYTES];
    assert_int_equal(dn_key_public(key, pub), 0);
    assert_int_equal(dn_key_public(loaded, pub_loaded), 0);
    assert_memory_equal(pub, pub_loaded, DN_PUBKEY_BYTES);
    assert_int_equal(dn_key_sign(loaded, "x", 1, sig), 0);
    assert_int_equal(dn_ed25519_verify(pub, "x", 1, sig), 0);

    /* an existing key is never replaced, not even by itself */
    dn_key_t *other = dn_key_generate();
    assert_non_null(other);
    assert_int_equal(dn_key_save(other, tmp->path), DN_EEXIST);
    assert_int_equal(dn_key_save(key, tmp->path), DN_EEXIST);
    char pem_after[1024];
    s_read_file(tmp->path, pem_after, sizeof pem_after);
    assert_string_equal(pem_after, pem);

    dn_key_destroy(&other);
    dn_key_destroy(&loaded);
    dn_key_destroy(&key);
}

static void test_save_mode_under_umask(void **state)
{
    s_tmp_t *tmp = *state;
    dn_key_t *key = dn_key_generate();
    assert_non_null(key);
    mode_t old = umask(0277); /* would leave 0400 without the fchmod */
    int rc = dn_key_save(key, tmp->path);
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(stat(tmp->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    dn_key_destroy(&key);
}

static void test_save_failures_leave_nothing(void **state)
{
    s_tmp_t *tmp = *state;
    dn_key_t *key = dn_key_generate();
    assert_non_null(key);

    char missing_dir[160];
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir/site.key", tmp->dir);
    assert_int_equal(dn_key_save(key, missing_dir), DN_EIO);

    /* a file size limit of 16 bytes makes the write fail halfway */
    struct rlimit old_limit, small_limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    small_limit = old_limit;
    small_limit.rlim_cur = 16;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small_limit), 0);
    int rc = dn_key_save(key, tmp->path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, DN_EIO);
    struct stat st;
    assert_int_equal(stat(tmp->path, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* and with the limit lifted the same path works */
    assert_int_equal(dn_key_save(key, tmp->path), 0);
    dn_key_destroy(&key);
}

static void test_load_refuses(void **state)
{
    s_tmp_t *tmp = *state;
    assert_null(dn_key_load(tmp->path)); /* missing */
    assert_null(dn_key_load(tmp->dir));  /* a directory */

    s_write_file(tmp->path, "");
    assert_null(dn_key_load(tmp->path));
    unlink(tmp->path);

    s_write_file(tmp->path, "this is not a key\n");
    assert_null(dn_key_load(tmp->path));
    unlink(tmp->path);

    s_write_file(tmp->path, "-----BEGIN PRIVATE KEY-----\n"
                            "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/V\n" /* cut short */
                            "-----END PRIVATE KEY-----\n");
    assert_null(dn_key_load(tmp->path));
    unlink(tmp->path);

    /* an Ed25519 public key is not a private key */
    s_write_file(tmp->path,
                 "-----BEGIN PUBLIC KEY-----\n"
                 "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                 "-----END PUBLIC KEY-----\n");
    assert_null(dn_key_load(tmp->path));
    unlink(tmp->path);

    /* a private key of another type (X25519) is refused */
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    assert_non_null(x25519);
    FILE *file = fopen(tmp->path, "w");
    assert_non_null(file);
    assert_int_equal(PEM_write_PrivateKey(file, x25519, NULL, NULL, 0, NULL, NULL), 1);
    fclose(file);
    EVP_PKEY_free(x25519);
    assert_null(dn_key_load(tmp->path));
    unlink(tmp->path);

    /* an encrypted key is refused without prompting for a passphrase */
    EVP_PKEY *ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed25519);
    file = fopen(tmp->path, "w");
    assert_non_null(file);
    assert_int_equal(PEM_write_PKCS8PrivateKey(file, ed25519, EVP_aes_256_cbc(), "secret",
                                               6, NULL, NULL),
                     1);
    fclose(file);
    EVP_PKEY_free(ed25519);
    assert_null(dn_key_load(tmp->path));
}

static void test_load_rfc8032_pem(void **state)
{
    /*  The PKCS#8 PEM of the RFC 8032 TEST 1 key (RFC 8410 section 10.3
        layout), written by another tool, loads to the same public key.  */
    s_tmp_t *tmp = *state;
    s_write_file(tmp->path,
                 "-----BEGIN PRIVATE KEY-----\n"
                 "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                 "-----END PRIVATE KEY-----\n");
    dn_key_t *key = dn_key_load(tmp->path);
    assert_non_null(key);
    uint8_t pub[DN_PUBKEY_BYTES], want[DN_PUBKEY_BYTES];
    assert_int_equal(dn_key_public(key, pub), 0);
    s_from_hex(s_test1_public, want, sizeof want);
    assert_memory_equal(pub, want, sizeof pub);
    dn_key_destroy(&key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_ed25519_rfc8032_test1),
        cmocka_unit_test(test_ed25519_rfc8032_test2),
        cmocka_unit_test(test_ed25519_malformed_public_key),
        cmocka_unit_test(test_generate_sign_verify),
        cmocka_unit_test_setup_teardown(test_save_load, s_tmp_setup, s_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_save_mode_under_umask, s_tmp_setup,
                                        s_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_save_failures_leave_nothing, s_tmp_setup,
                                        s_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses, s_tmp_setup, s_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_rfc8032_pem, s_tmp_setup,
                                        s_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
