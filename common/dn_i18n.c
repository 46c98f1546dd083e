/*  dn_i18n -- the language a person reads (see dn_i18n.h).  */
#define _GNU_SOURCE /* LC_MESSAGES is POSIX; readlink */
#include "dn_i18n.h"

#include <assert.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DN_LOCALEDIR
#define DN_LOCALEDIR "/usr/local/share/locale"
#endif

/*  glibc's counter of loaded catalogues: bumping it makes gettext forget
    the translations it cached for the old LANGUAGE (the GNU gettext
    manual, "Changing the language at runtime").  */
extern int _nl_msg_cat_cntr;

static char s_lang[DN_I18N_LANG_SIZE] = "en";
static char s_dir[4200] = DN_LOCALEDIR; /* the catalogues, as bound */
static int s_in_peer;

/*  The language the environment asks for, as gettext reads it: LANGUAGE
    wins over LC_ALL, LC_MESSAGES and LANG, which win in that order.  */
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

static int s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*  1 if this program has a catalogue for lang.  */
static int s_has_catalogue(const char *lang)
{
    char path[sizeof s_dir + 64];
    snprintf(path, sizeof path, "%s/%s/LC_MESSAGES/%s.mo", s_dir, lang, DN_I18N_DOMAIN);
    return access(path, R_OK) == 0;
}

/*  Sets s_lang from a locale name or a LANGUAGE list (see dn_i18n_init):
    "zh_CN.UTF-8@x" -> "zh_CN", "zh_CN:en" -> "zh_CN", "C" -> "en".  */
static void s_set_lang(const char *name)
{
    strcpy(s_lang, "en");
    while (*name) {
        size_t n = strcspn(name, ".@:");
        char one[DN_I18N_LANG_SIZE];
        if (n > 0 && n < sizeof one) {
            memcpy(one, name, n);
            one[n] = '\0';
            if (strcmp(one, "C") == 0 || strcmp(one, "POSIX") == 0 ||
                strncmp(one, "en", 2) == 0)
                return; /* English, the msgids themselves */
            if (dn_i18n_lang_valid(one) && s_has_catalogue(one)) {
                strcpy(s_lang, one);
                return;
            }
        }
        name += strcspn(name, ":");
        if (*name == ':')
            name++;
    }
}

/*  Where the catalogues are (see dn_i18n_init), into s_dir.  */
static void s_find_dir(void)
{
    const char *env = getenv("DEALERNET_LOCALEDIR");
    if (env != NULL && *env != '\0' && strlen(env) < sizeof s_dir) {
        strcpy(s_dir, env);
        return;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(s_dir, sizeof s_dir, "%s/../share/locale", exe);
            if (s_is_dir(s_dir))
                return;
            /* bin<X>/ in the source tree: make's B for BIN=bin<X> is
               build<X> (bin-asan, build-asan) */
            const char *base = strrchr(exe, '/');
            base = base ? base + 1 : exe;
            if (strncmp(base, "bin", 3) == 0) {
                snprintf(s_dir, sizeof s_dir, "%s/../build%s/locale", exe, base + 3);
                if (s_is_dir(s_dir))
                    return;
            }
        }
    }
    snprintf(s_dir, sizeof s_dir, "%s", DN_LOCALEDIR);
}

void dn_i18n_init(void)
{
    s_find_dir();
    s_set_lang(s_env_lang());
    if (setlocale(LC_CTYPE, "") == NULL)
        setlocale(LC_CTYPE, "C.UTF-8");
    /* Not generated here, or the plain C locale, in which gettext ignores
       LANGUAGE: C.UTF-8 (always there in glibc 2.35 and later), the
       language coming through LANGUAGE.  */
    const char *m = setlocale(LC_MESSAGES, "");
    if (m == NULL || strcmp(m, "C") == 0 || strcmp(m, "POSIX") == 0)
        setlocale(LC_MESSAGES, "C.UTF-8");
    setenv("LANGUAGE", s_lang, 1);
    bindtextdomain(DN_I18N_DOMAIN, s_dir);
    bind_textdomain_codeset(DN_I18N_DOMAIN, "UTF-8");
    ++_nl_msg_cat_cntr;
}

const char *dn_i18n_lang(void)
{
    return s_lang;
}

int dn_i18n_lang_valid(const char *lang)
{
    if (lang == NULL)
        return 0;
    size_t n = 0;
    while (lang[n] >= 'a' && lang[n] <= 'z')
        n++;
    if (n < 2 || n > 3)
        return 0;
    if (lang[n] == '\0')
        return 1;
    return lang[n] == '_' && lang[n + 1] >= 'A' && lang[n + 1] <= 'Z' &&
           lang[n + 2] >= 'A' && lang[n + 2] <= 'Z' && lang[n + 3] == '\0';
}

const char *dn_i18n_pgettext(const char *ctx_text, const char *text)
{
    const char *t = dgettext(DN_I18N_DOMAIN, ctx_text);
    return t == ctx_text ? text : t;
}

const char *dn_i18n_cpgettext(const char *ctx, const char *text)
{
    char both[256];
    int n = snprintf(both, sizeof both, "%s\004%s", ctx, text);
    if (n < 0 || (size_t)n >= sizeof both)
        return text;
    const char *t = dgettext(DN_I18N_DOMAIN, both);
    return t == both ? text : t;
}

const char *dn_i18n_peer_begin(const char *lang)
{
    assert(!s_in_peer); /* not nested: always paired with dn_i18n_peer_end */
    s_in_peer = 1;
    const char *use = dn_i18n_lang_valid(lang) && strncmp(lang, "en", 2) != 0 &&
                              s_has_catalogue(lang)
                          ? lang
                          : "en";
    setenv("LANGUAGE", use, 1);
    ++_nl_msg_cat_cntr;
    return use;
}

void dn_i18n_daemon(void)
{
    strcpy(s_lang, "en");
    setenv("LANGUAGE", s_lang, 1);
    ++_nl_msg_cat_cntr;
}

void dn_i18n_peer_end(void)
{
    assert(s_in_peer);
    s_in_peer = 0;
    setenv("LANGUAGE", s_lang, 1); /* as dn_i18n_init left it */
    ++_nl_msg_cat_cntr;
}
