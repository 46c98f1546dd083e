/*  test_i18n -- unit tests for dn_i18n: which language the environment
    asks for, C_() and its run-time form falling back to the English text,
    the server answering one request in its peer's language and then its
    own, dn_render's table headers (translated) beside its CSV headers
    (never), and common/'s reasons (a refused code, a phone, a hidden
    character, an error code's text) in Chinese and in their exact
    English.  The catalogue is the one the build compiled from po/zh_CN
    (<B>/locale, found from this program's own path <B>/tests/unit/).
    The peer's language is per thread: two threads answering a Chinese and
    an English peer at once each read their own, every time; and a
    catalogue that is not a well-formed .mo file is refused (English) with
    no crash and no read outside it.
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_render.h"
#include "dn_valid.h"

/*  Sets the environment to exactly the given language variables (NULL
    leaves one unset) and calls dn_i18n_init.  */
static void s_env(const char *language, const char *lc_all, const char *lang)
{
    unsetenv("LC_MESSAGES");
    if (language)
        setenv("LANGUAGE", language, 1);
    else
        unsetenv("LANGUAGE");
    if (lc_all)
        setenv("LC_ALL", lc_all, 1);
    else
        unsetenv("LC_ALL");
    if (lang)
        setenv("LANG", lang, 1);
    else
        unsetenv("LANG");
    dn_i18n_init();
}

static int s_setup(void **state)
{
    (void)state;
    char exe[4096], dir[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* <B>/tests/unit */
    snprintf(dir, sizeof dir, "%s/../../locale", exe);
    if (access(dir, R_OK) != 0) {
        fprintf(stderr, "test_i18n: no catalogues in %s (make build)\n", dir);
        return -1;
    }
    setenv("DEALERNET_LOCALEDIR", dir, 1);
    return 0;
}

static void test_lang_from_env(void **state)
{
    (void)state;
    s_env(NULL, NULL, "zh_CN.UTF-8");
    assert_string_equal(dn_i18n_lang(), "zh_CN");
    s_env(NULL, NULL, "C");
    assert_string_equal(dn_i18n_lang(), "en");
    s_env(NULL, NULL, NULL);
    assert_string_equal(dn_i18n_lang(), "en");
    s_env("zh_CN:en", NULL, "C.UTF-8");
    assert_string_equal(dn_i18n_lang(), "zh_CN");
    /* a language without a catalogue is passed over, as gettext does */
    s_env("fr:zh_CN", NULL, NULL);
    assert_string_equal(dn_i18n_lang(), "zh_CN");
    s_env("en_US:zh_CN", NULL, NULL); /* English first: the msgids */
    assert_string_equal(dn_i18n_lang(), "en");
    s_env(NULL, NULL, "fr_FR.UTF-8");
    assert_string_equal(dn_i18n_lang(), "en");
    s_env(NULL, "zh_CN.UTF-8@x", "C"); /* LC_ALL wins over LANG */
    assert_string_equal(dn_i18n_lang(), "zh_CN");
}

static void test_lang_valid(void **state)
{
    (void)state;
    assert_true(dn_i18n_lang_valid("en"));
    assert_true(dn_i18n_lang_valid("zh_CN"));
    assert_true(dn_i18n_lang_valid("yue"));
    assert_false(dn_i18n_lang_valid(NULL));
    assert_false(dn_i18n_lang_valid(""));
    assert_false(dn_i18n_lang_valid("zh_CN.UTF-8"));
    assert_false(dn_i18n_lang_valid("zh_CN:en"));
    assert_false(dn_i18n_lang_valid("ZH"));
    assert_false(dn_i18n_lang_valid("zh_cn"));
    assert_false(dn_i18n_lang_valid("../x"));
}

static void test_context_fallback(void **state)
{
    (void)state;
    s_env(NULL, NULL, "C.UTF-8");
    assert_string_equal(C_("column", "partner"), "partner");
    assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");
    s_env(NULL, NULL, "zh_CN.UTF-8");
    assert_string_equal(C_("column", "partner"), "伙伴");
    assert_string_equal(dn_i18n_cpgettext("column", "opening"), "期初余额");
    assert_string_equal(dn_i18n_cpgettext("column", "clawback"), "扣回");
    /* no translation: the text itself, the very pointer */
    const char *key = "no_such_key";
    assert_ptr_equal(dn_i18n_cpgettext("column", key), key);
    assert_string_equal(C_("column", "no_such_column"), "no_such_column");
    /* the context keeps a column apart from the same text without it
       ("clawback" is translated as a column only) */
    assert_string_equal(C_("column", "clawback"), "扣回");
    assert_string_equal(_("clawback"), "clawback");
    assert_string_equal(_("partner %s does not exist"), "伙伴 %s 不存在");
}

static void test_peer_language(void **state)
{
    (void)state;
    s_env(NULL, NULL, "C.UTF-8"); /* the server's own: English */
    assert_string_equal(dn_i18n_peer_begin("zh_CN"), "zh_CN");
    assert_string_equal(_("partner %s does not exist"), "伙伴 %s 不存在");
    dn_i18n_peer_end();
    assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");
    assert_string_equal(dn_i18n_lang(), "en");
    /* an old dealernet-hq (no lang), a language without a catalogue, and
       text that is not a language code all read English */
    const char *const english[] = {NULL, "fr", "en", "zh_CN:en", "zh_CN.UTF-8", ""};
    for (size_t i = 0; i < sizeof english / sizeof english[0]; i++) {
        assert_string_equal(dn_i18n_peer_begin(english[i]), "en");
        assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");
        dn_i18n_peer_end();
    }
    /* a server that reads Chinese itself answers an English peer in
       English, then reads Chinese again */
    s_env(NULL, NULL, "zh_CN.UTF-8");
    assert_string_equal(dn_i18n_peer_begin(NULL), "en");
    assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");
    dn_i18n_peer_end();
    assert_string_equal(_("partner %s does not exist"), "伙伴 %s 不存在");
}

static void test_render_headers(void **state)
{
    (void)state;
    json_t *rows = json_loads("[{\"partner\":\"D1\",\"balance\":\"1.00\"}]", 0, NULL);
    assert_non_null(rows);
    s_env(NULL, NULL, "zh_CN.UTF-8");
    char *table = dn_render_string(rows, DN_RENDER_TABLE);
    char *csv = dn_render_string(rows, DN_RENDER_CSV);
    /* 伙伴 and 余额 are 4 columns wide each: D1 padded by 2, then 2 */
    assert_string_equal(table, "伙伴  余额\nD1    1.00\n");
    assert_string_equal(csv, "partner,balance\r\nD1,1.00\r\n");
    free(table);
    free(csv);
    s_env(NULL, NULL, "C.UTF-8");
    table = dn_render_string(rows, DN_RENDER_TABLE);
    csv = dn_render_string(rows, DN_RENDER_CSV);
    /* PARTNER is 7 wide: D1 and 5 spaces, then 2 */
    assert_string_equal(table, "PARTNER  BALANCE\nD1       1.00\n");
    assert_string_equal(csv, "partner,balance\r\nD1,1.00\r\n");
    free(table);
    free(csv);
    json_decref(rows);
}

/*  A payment and a channel show as words a clerk reads in a table, and as
    the words a script reads in CSV; a word outside the set, or under
    another key, is shown as it is.  */
static void test_render_words(void **state)
{
    (void)state;
    json_t *rows = json_loads("[{\"channel\":\"community\",\"payment\":\"wechat\"},"
                              "{\"channel\":\"store\",\"payment\":\"bitcoin\"}]",
                              0, NULL);
    assert_non_null(rows);
    s_env(NULL, NULL, "zh_CN.UTF-8");
    assert_string_equal(dn_render_word("payment", "wechat"), "微信支付");
    assert_string_equal(dn_render_word("payment", "bitcoin"), "bitcoin");
    assert_string_equal(dn_render_word("site", "store"), "store");
    char *table = dn_render_string(rows, DN_RENDER_TABLE);
    char *csv = dn_render_string(rows, DN_RENDER_CSV);
    /* 渠道 4 wide, 社群 4 and 门店 4: two spaces after each; 支付方式 8 */
    assert_string_equal(table, "渠道  支付方式\n社群  微信支付\n门店  bitcoin\n");
    assert_string_equal(csv, "channel,payment\r\ncommunity,wechat\r\nstore,bitcoin\r\n");
    free(table);
    free(csv);
    s_env(NULL, NULL, "C.UTF-8");
    assert_string_equal(dn_render_word("payment", "wechat"), "wechat");
    table = dn_render_string(rows, DN_RENDER_TABLE);
    /* CHANNEL is 7 wide, community 9: the column is 9 */
    assert_string_equal(table, "CHANNEL    PAYMENT\ncommunity  wechat\nstore      bitcoin\n");
    free(table);
    json_decref(rows);
}

/*  A reason cut to its buffer ends after a whole character: 东 is 3
    bytes (E4 B8 9C), so "ab东" into 5 bytes (4 and the NUL) is "ab" and
    not "ab" and E4 B8; into 6 it is whole.  A 2-byte é cut after its first
    byte goes too; ASCII is cut where it falls.  */
static void test_why_whole_chars(void **state)
{
    (void)state;
    char why[8];
    assert_int_equal(dn_why(why, 5, DN_EPARSE, "%s", "ab东"), DN_EPARSE);
    assert_string_equal(why, "ab");
    dn_why(why, 6, DN_EPARSE, "%s", "ab东x");
    assert_string_equal(why, "ab东");
    dn_why(why, 4, DN_EPARSE, "%s", "abé");
    assert_string_equal(why, "ab");
    dn_why(why, 5, DN_EPARSE, "%s", "abé");
    assert_string_equal(why, "abé");
    dn_why(why, 4, DN_EPARSE, "%s", "abcdef");
    assert_string_equal(why, "abc");
    /* a 4-byte emoji cut after 3 of its bytes */
    dn_why(why, 6, DN_EPARSE, "%s", "ab\xF0\x9F\x91\x8D!");
    assert_string_equal(why, "ab");
}

/*  The reasons tested in two languages, in order: a name typed where the
    SKU goes; a partner code with the caller's hint after it; a mobile
    number a digit short (1380013800 is 10 digits after +86); a letter O
    among the digits; a zero-width space, character 3 of
    "Li<U+200B>Wei"; an error code's text.  */
#define S_N_REASONS 6

static void s_reasons(char why[S_N_REASONS][DN_CODE_WHY_SIZE])
{
    char phone[DN_PHONE_SIZE];
    assert_int_equal(dn_valid_code_check(DN_CODE_SKU, "东北大米", NULL, why[0],
                                         DN_CODE_WHY_SIZE),
                     DN_CODE_ERROR);
    assert_int_equal(dn_valid_code_check(DN_CODE_PARTNER, "王芳", "HINT", why[1],
                                         DN_CODE_WHY_SIZE),
                     DN_CODE_ERROR);
    assert_int_equal(dn_phone_normalize("138 0013 800", 86, phone, why[2], DN_CODE_WHY_SIZE),
                     DN_EPARSE);
    assert_int_equal(dn_phone_normalize("1380013800O", 86, phone, why[3], DN_CODE_WHY_SIZE),
                     DN_EPARSE);
    assert_int_equal(dn_valid_name_why("Li\xE2\x80\x8BWei", why[4], DN_CODE_WHY_SIZE), 0);
    snprintf(why[5], DN_CODE_WHY_SIZE, "%s", dn_strerror(DN_ENOENT));
}

static void s_reasons_are(const char *const want[S_N_REASONS])
{
    char why[S_N_REASONS][DN_CODE_WHY_SIZE];
    s_reasons(why);
    for (size_t i = 0; i < S_N_REASONS; i++)
        assert_string_equal(why[i], want[i]);
}

/*  common/'s reasons are one sentence each in the catalogue: under
    LANGUAGE=zh_CN the whole line is Chinese (the text typed kept as it
    is), under English byte for byte the English the other tests and the
    README quote; the server answering HQ switches for one request.  */
static void test_common_reasons(void **state)
{
    (void)state;
    static const char *const zh[S_N_REASONS] = {
        "'东北大米' 不是商品编码：代码只用 ASCII 字符（1 到 64 个可打印字符，不含空格、"
        "':' 和 '@'），名称不是代码",
        "'王芳' 不是伙伴代码：代码只用 ASCII 字符（以字母开头，其后为字母、数字、'_'、'.'、"
        "'-'；最多 32 个），名称不是代码：HINT",
        "'138 0013 800' 不是电话号码：中国手机号码在 +86 之后有 11 位数字，这个号码有 10 位",
        "'1380013800O' 不是电话号码：'O' 不是数字、空格、'-'、'.'、'('、')' 或开头的 '+'",
        "含有 U+200B（零宽空格），位于第 3 个字符：不接受可隐藏文字或打乱文字顺序的不可见字符",
        "未找到",
    };
    static const char *const en[S_N_REASONS] = {
        "'东北大米' is not a SKU: codes are ASCII (1 to 64 printable characters but space, "
        "':' and '@'), names are not",
        "'王芳' is not a partner code: codes are ASCII (a letter, then letters, digits, '_', "
        "'.', '-'; at most 32), names are not: HINT",
        "'138 0013 800' is not a phone number: a Chinese mobile number has 11 digits after "
        "+86, this one has 10",
        "'1380013800O' is not a phone number: 'O' is not a digit, a space, '-', '.', '(', ')' "
        "or a leading '+'",
        "holds U+200B (zero width space) at character 3: " DN_HIDDEN_RULE,
        "not found",
    };
    char list[128];

    s_env("zh_CN", NULL, "C.UTF-8");
    assert_string_equal(dn_i18n_lang(), "zh_CN");
    s_reasons_are(zh);
    /* what goes into central.db as data (dn_facts' exception note) stays
       English whatever the language */
    assert_int_equal(dn_valid_hidden_list("Li\xE2\x80\x8BWei", list, sizeof list), 1);
    assert_string_equal(list, "U+200B (zero width space)");

    s_env(NULL, NULL, "C.UTF-8");
    s_reasons_are(en);
    /* the server (English) answering HQ in Chinese: that one request's
       reasons are Chinese, then English again */
    assert_string_equal(dn_i18n_peer_begin("zh_CN"), "zh_CN");
    s_reasons_are(zh);
    dn_i18n_peer_end();
    s_reasons_are(en);
}

/* -- the peer's language, per thread ---------------------------------------- */

#define S_ROUNDS 3000 /* answers per thread: many chances for one to leak into the other */

typedef struct {
    const char *lang;    /* the peer's */
    const char *expect[4]; /* _(), C_(), dn_i18n_cpgettext, dn_strerror in it */
    int wrong;           /* answers in the other language */
    pthread_barrier_t *start;
} s_peer_t;

static void *s_answer(void *arg)
{
    s_peer_t *p = arg;
    pthread_barrier_wait(p->start); /* both at once */
    for (int i = 0; i < S_ROUNDS; i++) {
        const char *got[4];
        dn_i18n_peer_begin(p->lang);
        got[0] = _("partner %s does not exist");
        got[1] = C_("column", "partner");
        got[2] = dn_i18n_cpgettext("column", "opening");
        got[3] = dn_strerror(DN_ENOENT);
        dn_i18n_peer_end();
        for (int k = 0; k < 4; k++)
            p->wrong += strcmp(got[k], p->expect[k]) != 0;
    }
    return NULL;
}

static void *s_answer_alone(void *arg)
{
    s_peer_t *p = arg;
    pthread_barrier_t *start = p->start;
    pthread_barrier_t alone;
    pthread_barrier_init(&alone, NULL, 1);
    p->start = &alone;
    s_answer(p);
    p->start = start;
    pthread_barrier_destroy(&alone);
    return NULL;
}

static void test_peer_per_thread(void **state)
{
    (void)state;
    pthread_barrier_t start;
    s_peer_t zh = {"zh_CN", {"伙伴 %s 不存在", "伙伴", "期初余额", "未找到"}, 0, &start};
    s_peer_t en = {"en", {"partner %s does not exist", "partner", "opening", "not found"}, 0,
                   &start};
    pthread_t a, b;

    s_env(NULL, NULL, "C.UTF-8"); /* the server's own: English */
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    assert_int_equal(pthread_create(&a, NULL, s_answer, &zh), 0);
    assert_int_equal(pthread_create(&b, NULL, s_answer, &en), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(zh.wrong, 0);
    assert_int_equal(en.wrong, 0);
    /* this thread was never a peer's: its own language all along */
    assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");

    /* and the other way round: a Chinese server answers an English peer
       on one thread while it reads Chinese on this one */
    s_env(NULL, NULL, "zh_CN.UTF-8");
    en.wrong = 0;
    assert_int_equal(pthread_create(&b, NULL, s_answer_alone, &en), 0);
    for (int i = 0; i < S_ROUNDS; i++)
        assert_string_equal(_("partner %s does not exist"), "伙伴 %s 不存在");
    pthread_join(b, NULL);
    assert_int_equal(en.wrong, 0);
    s_env(NULL, NULL, "C.UTF-8");
}

/* -- a malformed catalogue ---------------------------------------------------- */

/*  Reads a whole file; *len set.  */
static unsigned char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    unsigned char *data = NULL;
    if (f && fstat(fileno(f), &st) == 0 && (data = malloc((size_t)st.st_size)) != NULL)
        *len = fread(data, 1, (size_t)st.st_size, f);
    if (f)
        fclose(f);
    return data;
}

/*  Writes <root>/<lang>/LC_MESSAGES/dealernet.mo.  */
static void s_spill(const char *root, const char *lang, const void *data, size_t len)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", root, lang);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/LC_MESSAGES", root, lang);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/LC_MESSAGES/dealernet.mo", root, lang);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint32_t s_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void s_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void test_malformed_catalogue(void **state)
{
    (void)state;
    const char *built = getenv("DEALERNET_LOCALEDIR");
    char path[4300], root[] = "/tmp/dn-test-i18n.XXXXXX", cmd[4400];
    size_t len = 0;

    assert_non_null(built);
    snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/dealernet.mo", built);
    unsigned char *good = s_slurp(path, &len), *bad = malloc(len);
    assert_non_null(good);
    assert_non_null(bad);
    assert_true(len > 64 && s_get32(good) == 0x950412deU); /* msgfmt writes little-endian here */
    assert_non_null(mkdtemp(root));
    uint32_t n = s_get32(good + 8), orig = s_get32(good + 12), trans = s_get32(good + 16);
    assert_true(n > 2);

    /* the intact copy, under another language code: read and used */
    s_spill(root, "xz", good, len);
    /* each file below is wrong in one way */
    s_spill(root, "xa", good, 0); /* empty */
    s_spill(root, "xb", good, 20); /* shorter than its header */
    memcpy(bad, good, len);
    s_put32(bad, 0x12345678); /* not the magic */
    s_spill(root, "xc", bad, len);
    memcpy(bad, good, len);
    s_put32(bad + 12, (uint32_t)len - 4); /* the originals' table past the end */
    s_spill(root, "xd", bad, len);
    memcpy(bad, good, len);
    s_put32(bad + 8, 0x20000000); /* N far beyond the file: tables past the end */
    s_spill(root, "xe", bad, len);
    memcpy(bad, good, len);
    s_put32(bad + trans + 8 * 1 + 4, 0xfffffff0); /* a translation's offset past the end */
    s_spill(root, "xf", bad, len);
    memcpy(bad, good, len);
    s_put32(bad + orig + 8 * 1, s_get32(good + orig + 8 * 1) + 1); /* length over its NUL */
    s_spill(root, "xg", bad, len);
    memcpy(bad, good, len);
    memcpy(bad + orig + 8, good + orig + 16, 8); /* originals 1 and 2 swapped: unsorted */
    memcpy(bad + orig + 16, good + orig + 8, 8);
    s_spill(root, "xh", bad, len);
    memcpy(bad, good, len);
    s_put32(bad + trans + 8 * (n - 1), (uint32_t)(len - s_get32(good + trans + 8 * (n - 1) + 4)));
    s_spill(root, "xi", bad, len); /* the last translation's length to the file's end */

    setenv("DEALERNET_LOCALEDIR", root, 1);
    s_env(NULL, NULL, "C.UTF-8");
    assert_string_equal(dn_i18n_peer_begin("xz"), "xz");
    assert_string_equal(_("partner %s does not exist"), "伙伴 %s 不存在");
    dn_i18n_peer_end();
    const char *const refused[] = {"xa", "xb", "xc", "xd", "xe", "xf", "xg", "xh", "xi"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        for (int again = 0; again < 2; again++) { /* refused, then remembered as such */
            assert_string_equal(dn_i18n_peer_begin(refused[i]), "en");
            assert_string_equal(_("partner %s does not exist"), "partner %s does not exist");
            assert_string_equal(C_("column", "partner"), "partner");
            dn_i18n_peer_end();
        }
    }
    setenv("DEALERNET_LOCALEDIR", built, 1);
    s_env(NULL, NULL, "C.UTF-8");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(bad);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_from_env),
        cmocka_unit_test(test_lang_valid),
        cmocka_unit_test(test_context_fallback),
        cmocka_unit_test(test_peer_language),
        cmocka_unit_test(test_render_headers),
        cmocka_unit_test(test_render_words),
        cmocka_unit_test(test_why_whole_chars),
        cmocka_unit_test(test_common_reasons),
        cmocka_unit_test(test_peer_per_thread),
        cmocka_unit_test(test_malformed_catalogue),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
