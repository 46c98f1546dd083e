/*  dn_i18n -- the language a person reads.

    Every message, help text and table header a person reads goes through
    gettext, in one catalogue (the text domain "dealernet") shared by the
    three programs: a shop clerk with LANG=zh_CN.UTF-8 reads Chinese, a
    script reads the same JSON keys, CSV headers and exit codes whatever
    the language.  What is never translated: JSON keys, CSV headers, exit
    codes, command and option names, the server's log lines (an operator
    greps them, and an alert matches them), and the wire.

    Marking, for xgettext (po/Makefile rules list the same keywords):
      _("text")          translated now (gettext)
      N_("text")         marked only, for a table of texts translated
                         where it is printed (_(table[i].help))
      C_("ctx", "text")  translated in a context (pgettext): the same
                         English word meaning two things, and table
                         headers, C_("column", "partner")

    A message with arguments is one format, arguments in it, never glued
    from pieces: _("site %s is revoked") and not "site " + code + _(" is
    revoked"), for a language's word order may differ.  */
#ifndef DN_I18N_H
#define DN_I18N_H

#include <libintl.h>

#define DN_I18N_DOMAIN "dealernet"

#define _(text)        dgettext(DN_I18N_DOMAIN, text)
#define N_(text)       text
#define C_(ctx, text)  dn_i18n_pgettext(ctx "\004" text, text)

/*  Chooses the language from the environment (LC_ALL, LC_MESSAGES, LANG,
    LANGUAGE, as gettext does) and finds the catalogues.  Sets LC_CTYPE and
    LC_MESSAGES from the environment; LC_NUMERIC and the others stay "C",
    so number parsing and printing never change with the language.  When
    the environment names a locale this machine has not generated (a
    minimal Debian has only C.UTF-8), it uses C.UTF-8 with the language
    asked for through LANGUAGE, which gettext honours outside the "C"
    locale: LANG=zh_CN.UTF-8 gives Chinese with or without `locale-gen`.
    The catalogues: DEALERNET_LOCALEDIR if set, else <exe>/../share/locale
    (installed), else <exe>/../build/locale (in the source tree), else the
    compiled-in DN_LOCALEDIR.  Call once, first thing in main.  */
void dn_i18n_init(void);

/*  The language messages are shown in, as a gettext language code: "zh_CN"
    or "en" (anything without a catalogue reads English).  What a program
    sends the server so that the server answers in the same language.  */
const char *dn_i18n_lang(void);

/*  pgettext: the translation of ctx_text ("ctx\004text"), or text when
    there is none.  Through C_().  */
const char *dn_i18n_pgettext(const char *ctx_text, const char *text);

#endif
