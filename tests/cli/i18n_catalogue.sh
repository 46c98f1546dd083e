#!/bin/sh
# i18n_catalogue.sh -- the translations are honest (issue 13, item 1):
# tests/lib/i18n_check.py, first on fixtures that must pass and fail, then
# on the tree:
#   (a) msgfmt --check on every fragment po/<lang>/*.po and the merged
#       catalogue, po/merge.sh refusing a msgid translated two ways;
#   (b) every msgid of `make pot` translated (not empty, not fuzzy) and no
#       fragment holding one the sources dropped (context "column" aside);
#   (c) no string a person reads left out of _(), N_(), C_() and NC_().
# DN_I18N_CATALOGUE_ONLY=1 runs (a) and (b) alone.
# Environment: DN_BIN (default bin; its build folder, bin -> build,
# bin-X -> build-X, is make's B, where the template is made).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK="python3 $ROOT/tests/lib/i18n_check.py"
FIX=$ROOT/tests/lib/i18n_fixtures
for tool in python3 msgfmt msgcat xgettext; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "i18n_catalogue: skipped, $tool is not installed"
        exit 77
    fi
done
BIN=${DN_BIN:-bin}
bin_base=$(basename "$BIN")
B=$(dirname "$BIN")/build${bin_base#bin}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/dn-i18n.XXXXXX")
trap 'rm -rf "$T"' EXIT
# (net.sh for its check(); this test starts no server)
. "$ROOT/tests/lib/net.sh"
pass=0
fail=0

# -- (c) on fixtures -----------------------------------------------------------
set +e
$CHECK --scan "$FIX/marked.c" >"$T/marked.out"
rc_marked=$?
$CHECK --scan "$FIX/unmarked.c" >"$T/unmarked.out"
rc_unmarked=$?
set -e
check "marked, exempted and not-for-people strings pass" "0 unmarked strings: 0" \
    "$rc_marked $(tail -n 1 "$T/marked.out")"
check "unmarked strings fail" 1 "$rc_unmarked"
check "each unmarked string named by line and by what prints it" \
    "5: table|10: printf|11: snprintf into why|12: s_usage_error|13: fputs" \
    "$(sed -n 's/^  .*unmarked\.c:\([0-9]*: [^:"]*\):.*/\1/p' "$T/unmarked.out" | paste -sd'|' -)"
check "--list counts per file and per folder" "unmarked.c: 5" \
    "$($CHECK --list "$FIX/unmarked.c" | sed -n 's|^.*/\(unmarked\.c: [0-9]*\)$|\1|p')"

# -- (a) and (b) on a small tree -----------------------------------------------
mkdir -p "$T/root/po/zh_CN"
cp "$ROOT/po/merge.sh" "$T/root/po/"
head -n 15 "$ROOT/po/zh_CN/server.po" | sed '/^$/,$d' >"$T/header"
po() { # po FILE: a fragment, its header then the entries on stdin
    { cat "$T/header"; echo; cat; } >"$T/root/po/zh_CN/$1"
}
po a.po <<'X'
msgid "site %s is revoked"
msgstr "门店 %s 已吊销"

msgctxt "column"
msgid "partner"
msgstr "伙伴"
X
po b.po <<'X'
#, fuzzy
msgid "no plan"
msgstr "没有方案"

msgid "gone from the sources"
msgstr "已删除"
X
cat >"$T/t.pot" <<'X'
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#: server/x.c:10
msgid "site %s is revoked"
msgstr ""

#: server/x.c:20
msgid "no plan"
msgstr ""

#: hq/main.c:30
msgid "partner %s does not exist"
msgstr ""
X
set +e
DN_I18N_CATALOGUE_ONLY=1 $CHECK --root "$T/root" --pot "$T/t.pot" >"$T/b.out"
rc=$?
set -e
check "a small tree's catalogue fails" 1 "$rc"
check "fuzzy, missing and dropped msgids named, nothing else" \
    'FAIL server/x.c:20: "no plan": po/zh_CN'"'"'s translation is fuzzy|FAIL hq/main.c:30: "partner %s does not exist": not in po/zh_CN|FAIL po/zh_CN/b.po:21: "gone from the sources": no source has it any more' \
    "$(grep '^FAIL' "$T/b.out" | paste -sd'|' -)"
po c.po <<'X'
msgid "site %s is revoked"
msgstr "站点 %s 已被吊销"
X
set +e
DN_I18N_CATALOGUE_ONLY=1 $CHECK --root "$T/root" --pot "$T/t.pot" >"$T/c.out"
set -e
check "a msgid translated two ways is refused by the merge" 1 \
    "$(grep -c 'merge: po: translated two different ways in .*: msgid "site %s is revoked"' "$T/c.out")"
rm "$T/root/po/zh_CN/c.po"
printf '#, c-format\nmsgid "bad %%s"\nmsgstr "坏"\n' | po d.po
set +e
DN_I18N_CATALOGUE_ONLY=1 $CHECK --root "$T/root" >"$T/d.out"
set -e
check "msgfmt --check refuses a c-format translation that drops a %s" 1 \
    "$(grep -c '^FAIL po/zh_CN/d.po: msgfmt --check' "$T/d.out")"
rm "$T/root/po/zh_CN/d.po"
printf 'msgid "site %%s is revoked"\nmsgstr "门店已吊销"\n' | po a.po
printf '#: server/x.c:10\n#, c-format\nmsgid "site %%s is revoked"\nmsgstr ""\n' >"$T/one.pot"
set +e
DN_I18N_CATALOGUE_ONLY=1 $CHECK --root "$T/root" --pot "$T/one.pot" >"$T/e.out"
set -e
check "... and one without the flag, which the template's c-format gives it" 1 \
    "$(grep -c "^FAIL po/zh_CN against the sources' formats" "$T/e.out")"

# -- the tree ------------------------------------------------------------------
make -s --no-print-directory -C "$ROOT" B="$B" pot >/dev/null
set +e
DN_I18N_CATALOGUE_ONLY=1 $CHECK --pot "$B/po/dealernet.pot" >"$T/tree-ab.out"
rc_ab=$?
$CHECK --pot "$B/po/dealernet.pot" >"$T/tree.out"
rc_all=$?
set -e
cat "$T/tree-ab.out"
check "the tree: (a) msgfmt --check and (b) every msgid translated" 0 "$rc_ab"
if [ "${DN_I18N_CATALOGUE_ONLY:-}" != 1 ]; then
    grep -v '^catalogues' "$T/tree.out"
    check "the tree: (c) no unmarked string a person reads" 0 "$rc_all"
fi

echo "i18n_catalogue: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
