/*  dn_i18n -- the language a person reads (see dn_i18n.h).  */
#define _GNU_SOURCE /* LC_MESSAGES is POSIX; readlink */
#include "dn_i18n.h"

#include "dn_log.h"

#include <assert.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
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

/*  Set by dn_i18n_init and dn_i18n_daemon, before any thread; only read
    after.  */
static char s_lang[DN_I18N_LANG_SIZE] = "en";
static char s_dir[4200] = DN_LOCALEDIR; /* the catalogues, as bound */

/*  A catalogue read by dn_i18n itself, for a peer's language (see
    dn_i18n_peer_begin): the whole .mo file, checked once when read.  */
typedef struct s_catalogue {
    struct s_catalogue *next;
    char *path;                   /* the file, the key of the list */
    char lang[DN_I18N_LANG_SIZE]; /* what dn_i18n_peer_begin returns */
    unsigned char *data;          /* the file; NULL: refused */
    size_t size;
    uint32_t n;                  /* strings */
    uint32_t originals;          /* offset of the originals' table */
    uint32_t translations;       /* offset of the translations' table */
    int swapped;                 /* written on a machine of the other byte order */
} s_catalogue_t;

/*  The catalogues read so far, kept for the process (a server answers a
    handful of languages, each a few hundred KiB): each file is read and
    checked once, not on every request.  */
static s_catalogue_t *s_catalogues;
static pthread_mutex_t s_catalogues_lock = PTHREAD_MUTEX_INITIALIZER;

/*  This thread's peer (dn_i18n_peer_begin): whether it is inside the pair,
    and the catalogue then (NULL: English, the msgids themselves).  */
static _Thread_local int s_in_peer;
static _Thread_local const s_catalogue_t *s_peer;

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

/* -- the GNU .mo format ------------------------------------------------------

    The GNU gettext manual, "The Format of GNU MO Files": a header of 32-bit
    words (magic 0x950412de in the writer's byte order, revision, N, the
    offsets O and T of two tables of N (length, offset) pairs: the
    originals, sorted by strcmp, and their translations), then the strings,
    each NUL-terminated (the length leaves the NUL out).  A context is part
    of the original: "ctx\004msgid".  Only what a lookup reads is used; a
    file with anything out of place is refused whole, never half read.  */

#define DN_I18N_MO_MAGIC   0x950412deU
#define DN_I18N_MO_HEADER  28                 /* magic .. hash table offset */
#define DN_I18N_MO_MAX     (64 * 1024 * 1024) /* ours is ~100 KiB */

static uint32_t s_word(const s_catalogue_t *c, size_t at)
{
    const unsigned char *p = c->data + at;
    return c->swapped ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*  String i of the table at offset table (checked by s_mo_check).  */
static const char *s_mo_string(const s_catalogue_t *c, uint32_t table, uint32_t i)
{
    return (const char *)c->data + s_word(c, (size_t)table + 8 * (size_t)i + 4);
}

/*  NULL if the catalogue read into c->data / c->size is well formed (and
    sets its n and tables), else why not.  */
static const char *s_mo_check(s_catalogue_t *c)
{
    if (c->size < DN_I18N_MO_HEADER)
        return "shorter than its header";
    c->swapped = 0;
    if (s_word(c, 0) != DN_I18N_MO_MAGIC) {
        c->swapped = 1;
        if (s_word(c, 0) != DN_I18N_MO_MAGIC)
            return "not a GNU .mo file (magic number)";
    }
    if (s_word(c, 4) >> 16 > 1)
        return "a major revision this program does not know";
    c->n = s_word(c, 8);
    c->originals = s_word(c, 12);
    c->translations = s_word(c, 16);
    /* 64-bit sums: no 32-bit offset can wrap them */
    uint64_t table = 8 * (uint64_t)c->n;
    if ((uint64_t)c->originals + table > c->size || (uint64_t)c->translations + table > c->size)
        return "a table beyond the end of the file";
    for (uint32_t i = 0; i < c->n; i++) {
        for (int t = 0; t < 2; t++) {
            size_t at = (size_t)(t ? c->translations : c->originals) + 8 * (size_t)i;
            uint64_t len = s_word(c, at), off = s_word(c, at + 4);
            if (off + len >= c->size || c->data[off + len] != '\0')
                return "a string beyond the end of the file or without its NUL";
        }
        if (i > 0 && strcmp(s_mo_string(c, c->originals, i - 1),
                            s_mo_string(c, c->originals, i)) >= 0)
            return "its originals are not sorted";
    }
    return NULL;
}

/*  Reads the file at c->path into c (c->data NULL if refused, logged).  */
static void s_mo_read(s_catalogue_t *c)
{
    const char *why = NULL;
    FILE *f = fopen(c->path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        why = "cannot be read";
    else if (st.st_size > DN_I18N_MO_MAX)
        why = "larger than any catalogue";
    else if (!(c->data = malloc(st.st_size ? (size_t)st.st_size : 1)))
        why = "out of memory";
    else if ((c->size = fread(c->data, 1, (size_t)st.st_size, f)) != (size_t)st.st_size)
        why = "cannot be read";
    else
        why = s_mo_check(c);
    if (f)
        fclose(f);
    if (why) {
        dn_log_warn("the catalogue %s is refused (%s): that language reads English", c->path,
                    why);
        free(c->data);
        c->data = NULL;
        c->size = 0;
    }
}

/*  The catalogue of lang (checked by dn_i18n_lang_valid), read once: NULL
    when there is none here, or it was refused.  The list only grows, and a
    node never changes once linked, so what it returns may be read without
    the lock for the life of the process.  */
static const s_catalogue_t *s_catalogue(const char *lang)
{
    char path[sizeof s_dir + 64];
    s_catalogue_t *c;
    snprintf(path, sizeof path, "%s/%s/LC_MESSAGES/%s.mo", s_dir, lang, DN_I18N_DOMAIN);
    pthread_mutex_lock(&s_catalogues_lock);
    for (c = s_catalogues; c && strcmp(c->path, path) != 0; c = c->next)
        ;
    /* a missing file is looked for again next time, not remembered: the
       list holds only files that exist, so a peer cannot grow it */
    if (!c && access(path, R_OK) == 0 && (c = calloc(1, sizeof *c)) != NULL) {
        if ((c->path = strdup(path)) == NULL) {
            free(c);
            c = NULL;
        } else {
            snprintf(c->lang, sizeof c->lang, "%s", lang);
            s_mo_read(c);
            c->next = s_catalogues;
            s_catalogues = c;
        }
    }
    pthread_mutex_unlock(&s_catalogues_lock);
    return c && c->data ? c : NULL;
}

/*  The translation of key in c, or NULL (none; c NULL: English).  */
static const char *s_lookup(const s_catalogue_t *c, const char *key)
{
    uint32_t lo = 0, hi = c ? c->n : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(key, s_mo_string(c, c->originals, mid));
        if (cmp == 0) {
            const char *t = s_mo_string(c, c->translations, mid);
            return *t ? t : NULL;
        }
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *dn_i18n_gettext(const char *msgid)
{
    if (s_in_peer) {
        const char *t = s_lookup(s_peer, msgid);
        return t ? t : msgid;
    }
    return dgettext(DN_I18N_DOMAIN, msgid);
}

const char *dn_i18n_pgettext(const char *ctx_text, const char *text)
{
    const char *t = s_in_peer ? s_lookup(s_peer, ctx_text) : dgettext(DN_I18N_DOMAIN, ctx_text);
    return t == NULL || t == ctx_text ? text : t;
}

const char *dn_i18n_cpgettext(const char *ctx, const char *text)
{
    char both[256];
    int n = snprintf(both, sizeof both, "%s\004%s", ctx, text);
    if (n < 0 || (size_t)n >= sizeof both)
        return text;
    const char *t = s_in_peer ? s_lookup(s_peer, both) : dgettext(DN_I18N_DOMAIN, both);
    return t == NULL || t == both ? text : t;
}

const char *dn_i18n_peer_begin(const char *lang)
{
    assert(!s_in_peer); /* not nested: always paired with dn_i18n_peer_end */
    s_in_peer = 1;
    s_peer = dn_i18n_lang_valid(lang) && strncmp(lang, "en", 2) != 0 ? s_catalogue(lang)
                                                                      : NULL;
    return s_peer ? s_peer->lang : "en";
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
    s_peer = NULL;
}
