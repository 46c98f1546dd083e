/*  dn_i18n -- the language a person reads.

    Every message, help text and table header a person reads goes through
    gettext, in one catalogue (the text domain "dealernet") shared by the
    three programs: a shop clerk with LANG=zh_CN.UTF-8 reads Chinese, a
    script reads the same JSON keys, CSV headers and exit codes whatever
    the language.  What is never translated: JSON keys, CSV headers, exit
    codes, command and option names, the server's log lines (an operator
    greps them, and an alert matches them), and the wire.

    Marking, for xgettext (the Makefile's pot rule lists the same keywords,
    and tests/lib/i18n_check.py finds what is not marked):
      _("text")          translated now (gettext)
      N_("text")         marked only, for a table of texts translated
                         where it is printed (_(table[i].help))
      C_("ctx", "text")  translated in a context (pgettext): the same
                         English word meaning two things, and table
                         headers, C_("column", "partner")
      NC_("ctx", "text") marked only, in a context, for a table of texts
                         translated where shown
                         (dn_i18n_cpgettext(ctx, table[i]))

    A message with arguments is one format, arguments in it, never glued
    from pieces: _("site %s is revoked") and not "site " + code + _(" is
    revoked"), for a language's word order may differ.

    The translations are po/<lang>/<folder>.po, one fragment per source folder;
    the Makefile merges a language's fragments and compiles them into
    $(B)/locale/<lang>/LC_MESSAGES/dealernet.mo.  */
#ifndef DN_I18N_H
#define DN_I18N_H

#include <libintl.h>

#define DN_I18N_DOMAIN "dealernet"

/*  The longest language code dn_i18n_lang gives and a peer may send
    ("zh_CN" is 5), with its NUL.  */
#define DN_I18N_LANG_SIZE 16

#define _(text)        dn_i18n_gettext(text)
#define N_(text)       text
#define C_(ctx, text)  dn_i18n_pgettext(ctx "\004" text, text)
#define NC_(ctx, text) text

/*  Chooses the language from the environment and finds the catalogues.
    The language: the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that
    is set; in it (a LANGUAGE list "zh_CN:en" is read left to right), the
    first entry that is English ("C", "POSIX", "en...") or has a catalogue
    here, by its language part ("zh_CN.UTF-8@x" is "zh_CN"); English when
    none.  Sets LANGUAGE to that one language, so that what gettext shows
    and what dn_i18n_lang says are the same.  Sets LC_CTYPE and LC_MESSAGES
    from the environment; LC_NUMERIC and the others stay "C", so number
    parsing and printing never change with the language.  When the
    environment names a locale this machine has not generated (a minimal
    Debian has only C.UTF-8), or the plain "C" locale, which makes gettext
    ignore LANGUAGE, it uses C.UTF-8: LANG=zh_CN.UTF-8 gives Chinese with
    or without `locale-gen`.
    The catalogues: DEALERNET_LOCALEDIR if set, else <exe>/../share/locale
    (installed), else, for a program in the source tree's bin<X>/, the
    build folder make pairs with it, <exe>/../build<X>/locale (bin ->
    build/locale, bin-asan -> build-asan/locale), else the compiled-in
    DN_LOCALEDIR.  Call once, first thing in main, before any thread (again,
    in a test, after changing the environment, with no thread inside
    dn_i18n_peer_begin).  */
void dn_i18n_init(void);

/*  The language messages are shown in, as a gettext language code: "zh_CN"
    or "en" (a language without a catalogue reads English).  What a program
    sends the server so that the server answers in the same language.  */
const char *dn_i18n_lang(void);

/*  1 if lang has the shape of a language code dn_i18n_lang gives: two or
    three ASCII lower-case letters, then optionally '_' and two upper-case
    letters ("en", "zh_CN"), else 0.  A peer's lang is checked with it
    before it goes near the environment.  */
int dn_i18n_lang_valid(const char *lang);

/*  pgettext: the translation of ctx_text ("ctx\004text"), or text when
    there is none, in the language _() answers in on this thread.  Through
    C_().  */
const char *dn_i18n_pgettext(const char *ctx_text, const char *text);

/*  C_() for a text known only at run time: the translation of text in
    context ctx, or text itself when there is none (or ctx and text
    together are longer than 255 bytes).  dn_render shows a JSON key as a
    table header through it, dn_i18n_cpgettext("column", key); xgettext
    cannot see such a call, so po/<lang>/columns.po lists the keys by hand.  */
const char *dn_i18n_cpgettext(const char *ctx, const char *text);

/*  gettext: the translation of msgid, or msgid itself when there is none.
    Through _().  On a thread inside dn_i18n_peer_begin, in the peer's
    language (its catalogue as dn_i18n reads it); elsewhere dgettext, in
    the program's own.  */
const char *dn_i18n_gettext(const char *msgid) __attribute__((format_arg(1)));

/*  The server answering a peer in the peer's language.  dn_i18n_peer_begin
    makes _() and C_() on the calling thread answer in lang (a peer's
    AdminRequest.lang, may be NULL) until dn_i18n_peer_end, which brings
    back the program's own language (the server's: its log lines are
    English, and never go through _() anyway).  A lang that is not valid
    (dn_i18n_lang_valid), has no catalogue here, or whose catalogue is not
    a well-formed GNU .mo file (refused with one warning in the log, and
    not read again) reads English.  Returns the language now in force on
    the thread, "en" or lang (a static string).
    Per thread, and thread-safe: the server's loop and its query threads
    (dn_query.h) each answer their own peer at the same time.  The
    environment is never touched: the pair sets a thread-local catalogue,
    which dn_i18n reads itself from <catalogues>/<lang>/LC_MESSAGES/
    dealernet.mo (the GNU .mo format, every offset checked against the
    file's size), once per file for the life of the process (under a
    lock), because glibc's gettext takes its language from the process's
    environment, which one thread cannot change without changing it under
    all the others (and setenv racing getenv is undefined).  Not nested
    on one thread, and always paired.  */
const char *dn_i18n_peer_begin(const char *lang);
void dn_i18n_peer_end(void);

/*  Makes English the program's own language, whatever its environment:
    for a daemon, whose lines are its log (an operator greps them, an alert
    matches them, a support desk reads them) and whose answers to a peer
    come in the peer's language (dn_i18n_peer_begin), never in the one the
    host's locale happens to name.  Call before any thread starts: like
    dn_i18n_init, it sets the environment's LANGUAGE.  */
void dn_i18n_daemon(void);

#endif
