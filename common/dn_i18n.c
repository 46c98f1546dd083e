/*  dn_i18n -- the language a person reads (see dn_i18n.h).  */
#define _GNU_SOURCE /* LC_MESSAGES is POSIX; readlink */
#include "dn_i18n.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DN_LOCALEDIR
#define DN_LOCALEDIR "/usr/local/share/locale"
#endif

static char s_lang[16] = "en";

/*  The language the environment asks for, as gettext reads it: LANGUAGE
    (its first entry) wins over LC_ALL, LC_MESSAGES and LANG, which win in
    that order.  */
static const char *s_env_lang(void)
{
    static const char *const vars[] = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && *v != '\0')
            return v;
    }
    return "";
}

/*  Keeps the language part of a locale name: "zh_CN.UTF-8@x" -> "zh_CN",
    "zh_CN:en" -> "zh_CN".  "C" and "POSIX" read English.  */
static void s_set_lang(const char *name)
{
    size_t n = strcspn(name, ".@:");
    if (n == 0 || n >= sizeof s_lang || strncmp(name, "C", n) == 0 ||
        strncmp(name, "POSIX", n) == 0) {
        strcpy(s_lang, "en");
        return;
    }
    memcpy(s_lang, name, n);
    s_lang[n] = '\0';
}

static int s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*  Where the catalogues are (see dn_i18n_init); dir holds the answer.  */
static const char *s_locale_dir(char *dir, size_t size)
{
    const char *env = getenv("DEALERNET_LOCALEDIR");
    if (env != NULL && *env != '\0')
        return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            static const char *const rel[] = {"/../share/locale", "/../build/locale"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(dir, size, "%s%s", exe, rel[i]);
                if (s_is_dir(dir))
                    return dir;
            }
        }
    }
    return DN_LOCALEDIR;
}

void dn_i18n_init(void)
{
    const char *want = s_env_lang();
    s_set_lang(want);
    if (setlocale(LC_CTYPE, "") == NULL || setlocale(LC_MESSAGES, "") == NULL) {
        /* Not generated here: C.UTF-8 (always there in glibc 2.35 and
           later) with the language through LANGUAGE.  */
        setlocale(LC_CTYPE, "C.UTF-8");
        setlocale(LC_MESSAGES, "C.UTF-8");
        if (strcmp(s_lang, "en") != 0 && getenv("LANGUAGE") == NULL)
            setenv("LANGUAGE", s_lang, 1);
    }
    char dir[4200];
    bindtextdomain(DN_I18N_DOMAIN, s_locale_dir(dir, sizeof dir));
    bind_textdomain_codeset(DN_I18N_DOMAIN, "UTF-8");
}

const char *dn_i18n_lang(void)
{
    return s_lang;
}

const char *dn_i18n_pgettext(const char *ctx_text, const char *text)
{
    const char *t = dgettext(DN_I18N_DOMAIN, ctx_text);
    return t == ctx_text ? text : t;
}
