/*  test_i18n -- unit tests for dn_i18n: which language the environment
    asks for, C_() and its run-time form falling back to the English text,
    the server answering one request in its peer's language and then its
    own, and dn_render's table headers (translated) beside its CSV headers
    (never).  The catalogue is the one the build compiled from po/zh_CN
    (<B>/locale, found from this program's own path <B>/tests/unit/).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_i18n.h"
#include "dn_render.h"

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
    /* the context keeps a column apart from the same text without it */
    assert_string_equal(_("partner"), "partner");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_from_env),
        cmocka_unit_test(test_lang_valid),
        cmocka_unit_test(test_context_fallback),
        cmocka_unit_test(test_peer_language),
        cmocka_unit_test(test_render_headers),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
