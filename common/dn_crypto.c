/*  dn_crypto -- SHA-256, Ed25519 and hex, through OpenSSL 3's EVP interface.

    Only EVP is used, so the code stays on the provider API that OpenSSL
    maintains and would pick up a FIPS provider unchanged.  A private key is
    only ever held inside an EVP_PKEY: it reaches disk as PKCS#8 PEM through a
    secure-memory BIO (cleared when freed) and a file opened O_EXCL with mode
    0600, so an existing key is never replaced and no other user can read the
    new one, not even between open() and write().  Failures leave no partial
    file behind and clear OpenSSL's per-thread error queue, so a later call
    does not report a stale error.
*/
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_fsperm.h"

#include <assert.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct _dn_key_t {
    EVP_PKEY *pkey; /* an ED25519 private key */
};

/*  EVP refuses a NULL buffer on some paths even for zero bytes.  */
static const uint8_t s_empty[1];

static const void *s_nonnull(const void *data, size_t len)
{
    return len == 0 || data == NULL ? s_empty : data;
}

/*  SHA-256 is on every hot path (each event, each transfer): fetch the
    implementation once instead of on every call (OpenSSL 3's implicit
    fetch takes a lock and a lookup), and reuse one context per thread.
    A thread's context is freed when the thread ends (the key's
    destructor): the server's query threads (dn_query.h) run verify, and
    a context left behind by each ended thread would leak.  */
static EVP_MD *s_sha256_md;
static pthread_once_t s_sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t s_sha256_ctx_key;
static int s_sha256_ctx_keyed; /* the key exists: set once, under s_sha256_once */

static void s_sha256_free(void)
{
    EVP_MD_free(s_sha256_md);
}

static void s_sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void s_sha256_init(void)
{
    s_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    s_sha256_ctx_keyed = pthread_key_create(&s_sha256_ctx_key, s_sha256_ctx_free) == 0;
    atexit(s_sha256_free);
}

int dn_sha256(const void *data, size_t len, uint8_t digest[DN_HASH_BYTES])
{
    static _Thread_local EVP_MD_CTX *ctx;
    unsigned int digest_len = 0;
    assert(digest != NULL);
    assert(data != NULL || len == 0);
    pthread_once(&s_sha256_once, s_sha256_init);
    if (!ctx && (ctx = EVP_MD_CTX_new()) != NULL && s_sha256_ctx_keyed)
        pthread_setspecific(s_sha256_ctx_key, ctx); /* freed as the thread ends */
    if (!s_sha256_md || !ctx || EVP_DigestInit_ex2(ctx, s_sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, s_nonnull(data, len), len) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 || digest_len != DN_HASH_BYTES) {
        ERR_clear_error();
        return DN_ECRYPTO;
    }
    return 0;
}

struct _dn_sha256_t {
    EVP_MD_CTX *ctx;
    int failed;
};

dn_sha256_t *dn_sha256_new(void)
{
    dn_sha256_t *self = calloc(1, sizeof *self);
    pthread_once(&s_sha256_once, s_sha256_init);
    if (!self)
        return NULL;
    self->ctx = EVP_MD_CTX_new();
    if (!s_sha256_md || !self->ctx ||
        EVP_DigestInit_ex2(self->ctx, s_sha256_md, NULL) != 1) {
        ERR_clear_error();
        EVP_MD_CTX_free(self->ctx);
        free(self);
        return NULL;
    }
    return self;
}

void dn_sha256_update(dn_sha256_t *self, const void *data, size_t len)
{
    assert(data != NULL || len == 0);
    if (!self->failed && EVP_DigestUpdate(self->ctx, s_nonnull(data, len), len) != 1) {
        ERR_clear_error();
        self->failed = 1;
    }
}

int dn_sha256_final(dn_sha256_t **self_p, uint8_t digest[DN_HASH_BYTES])
{
    dn_sha256_t *self = *self_p;
    unsigned int digest_len = 0;
    int rc = 0;
    if (self->failed || EVP_DigestFinal_ex(self->ctx, digest, &digest_len) != 1 ||
        digest_len != DN_HASH_BYTES) {
        ERR_clear_error();
        rc = DN_ECRYPTO;
    }
    EVP_MD_CTX_free(self->ctx);
    free(self);
    *self_p = NULL;
    return rc;
}

/*  Wraps an ED25519 EVP_PKEY, taking ownership of it; NULL-safe.  */
static dn_key_t *s_key_wrap(EVP_PKEY *pkey)
{
    if (pkey == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    dn_key_t *self = malloc(sizeof *self);
    if (self == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    self->pkey = pkey;
    return self;
}

dn_key_t *dn_key_generate(void)
{
    return s_key_wrap(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
}

dn_key_t *dn_key_from_seed(const uint8_t seed[32])
{
    assert(seed != NULL);
    return s_key_wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32));
}

/*  Refuses any passphrase prompt: our keys are never encrypted, and a daemon
    must not block on a terminal.  */
static int s_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

dn_key_t *dn_key_load(const char *path)
{
    assert(path != NULL);
    FILE *file = fopen(path, "re");
    if (file == NULL)
        return NULL;
    EVP_PKEY *pkey = PEM_read_PrivateKey(file, NULL, s_no_passphrase, NULL);
    fclose(file);
    dn_key_t *self = s_key_wrap(pkey);
    ERR_clear_error();
    return self;
}

/*  Writes all of buf to fd, retrying short writes and interrupts.  */
static int s_write_all(int fd, const void *data, size_t len)
{
    const char *buf = data;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/*  Makes the new directory entry for path durable.  A file system that
    cannot fsync a directory (EINVAL) is taken as it is.  */
static int s_sync_parent(const char *path)
{
    char copy[PATH_MAX];
    if (strlen(path) >= sizeof copy)
        return -1;
    strcpy(copy, path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    close(fd);
    return rc;
}

int dn_key_save(const dn_key_t *key, const char *path)
{
    assert(key != NULL && path != NULL);

    BIO *pem = BIO_new(BIO_s_secmem());
    if (pem == NULL ||
        PEM_write_bio_PrivateKey(pem, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        BIO_free(pem);
        ERR_clear_error();
        return DN_ECRYPTO;
    }
    char *text = NULL;
    long text_len = BIO_get_mem_data(pem, &text);
    int rc = text_len > 0 ? dn_file_create_private(path, text, (size_t)text_len) : DN_ECRYPTO;
    BIO_free(pem);
    return rc;
}

int dn_file_create_private(const char *path, const void *data, size_t len)
{
    mode_t mode = dn_fsperm_new_mode(path, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? DN_EEXIST : DN_EIO;
    /*  The umask can only take bits away; fchmod makes the mode exactly 0600
        (0640 in a shared folder) even under an odd umask such as 0277.  */
    int rc = 0;
    if (fchmod(fd, mode) != 0 || s_write_all(fd, data, len) != 0 || fsync(fd) != 0)
        rc = DN_EIO;
    if (close(fd) != 0)
        rc = DN_EIO;
    if (rc == 0 && s_sync_parent(path) != 0)
        rc = DN_EIO;
    if (rc != 0)
        unlink(path);
    return rc;
}

int dn_key_public(const dn_key_t *key, uint8_t pub[DN_PUBKEY_BYTES])
{
    assert(key != NULL && pub != NULL);
    size_t len = DN_PUBKEY_BYTES;
    if (EVP_PKEY_get_raw_public_key(key->pkey, pub, &len) != 1 ||
        len != DN_PUBKEY_BYTES) {
        ERR_clear_error();
        return DN_ECRYPTO;
    }
    return 0;
}

int dn_key_sign(const dn_key_t *key, const void *msg, size_t len,
                uint8_t sig[DN_SIG_BYTES])
{
    assert(key != NULL && sig != NULL);
    assert(msg != NULL || len == 0);
    int rc = DN_ECRYPTO;
    size_t sig_len = DN_SIG_BYTES;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &sig_len, s_nonnull(msg, len), len) == 1 &&
        sig_len == DN_SIG_BYTES)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    if (rc != 0)
        ERR_clear_error();
    return rc;
}

void dn_key_destroy(dn_key_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
        return;
    EVP_PKEY_free((*self_p)->pkey);
    free(*self_p);
    *self_p = NULL;
}

/*  One verification: 1 valid, 0 "does not verify", -1 the library failed.  */
static int s_verify_once(const uint8_t pub[DN_PUBKEY_BYTES], const void *msg, size_t len,
                         const uint8_t sig[DN_SIG_BYTES])
{
    int verdict = -1;
    EVP_MD_CTX *ctx = NULL;
    /*  For ED25519 this only copies the bytes; a key that is not a curve
        point is caught by the verification below, as a bad signature.  */
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, DN_PUBKEY_BYTES);
    if (pkey == NULL)
        goto done;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
        goto done;
    ERR_clear_error();
    verdict = EVP_DigestVerify(ctx, sig, DN_SIG_BYTES, s_nonnull(msg, len), len);
    if (verdict == 0 && ERR_peek_error() != 0)
        verdict = -1; /* an error queued: the library failed */
    else if (verdict != 0 && verdict != 1)
        verdict = -1;
done:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return verdict;
}

int dn_ed25519_verify(const uint8_t pub[DN_PUBKEY_BYTES], const void *msg, size_t len,
                      const uint8_t sig[DN_SIG_BYTES])
{
    assert(pub != NULL && sig != NULL);
    assert(msg != NULL || len == 0);
    int verdict = s_verify_once(pub, msg, len, sig);
    /*  OpenSSL 3.0 answers 0, with no error queued, both for a signature
        that does not match and for an allocation failing inside the
        verification (found by tests/fault/dn_iosweep).  A mismatch repeats;
        a transient failure does not: ask once more before calling a
        signature bad, which would refuse a good batch as forged.  */
    if (verdict == 0)
        verdict = s_verify_once(pub, msg, len, sig);
    if (verdict != 1)
        ERR_clear_error();
    return verdict == 1 ? 0 : verdict == 0 ? DN_ESIG : DN_ECRYPTO;
}

void dn_hex_encode(const uint8_t *data, size_t len, char *text)
{
    static const char digits[] = "0123456789abcdef";
    assert(text != NULL);
    assert(data != NULL || len == 0);
    for (size_t i = 0; i < len; i++) {
        text[2 * i] = digits[data[i] >> 4];
        text[2 * i + 1] = digits[data[i] & 0x0F];
    }
    text[2 * len] = '\0';
}

/*  Returns the value of a hex digit of either case, or -1.  */
static int s_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dn_hex_decode(const char *text, uint8_t *data, size_t len)
{
    assert(data != NULL || len == 0);
    if (text == NULL)
        return DN_EPARSE;
    /*  Check everything first so data is untouched on error; a NUL is not
        a hex digit, so a short text stops the scan.  */
    for (size_t i = 0; i < 2 * len; i++)
        if (s_hex_value(text[i]) < 0)
            return DN_EPARSE;
    if (text[2 * len] != '\0')
        return DN_EPARSE;
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)((unsigned)s_hex_value(text[2 * i]) << 4 |
                            (unsigned)s_hex_value(text[2 * i + 1]));
    return 0;
}
