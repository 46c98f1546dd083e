#!/bin/sh
# merge.sh OUT FRAGMENT... -- merges one language's fragments
# (po/<lang>/*.po, one per source folder, so that translators of different
# folders never edit the same file) into the one catalogue OUT, which the
# Makefile compiles with `msgfmt --check`.
#
# A msgid in two fragments must be translated the same way in both: a
# message reads the same wherever it is printed, and `msgcat --use-first`
# alone would keep whichever fragment sorts first without a word.  Such a
# conflict is refused (exit 65) naming the msgid and the fragments; the
# headers (each fragment has its own) are not compared.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: merge.sh OUT FRAGMENT..." >&2
    exit 64
fi
OUT=$1
shift
tmp=$OUT.dups
# Entries in more than one fragment; those translated differently come out
# fuzzy, their msgstr holding each fragment's text between "#-#-#-#-#".
msgcat --force-po --more-than=1 --no-wrap -o "$tmp" "$@"
conflicts=$(msgattrib --force-po --only-fuzzy --no-wrap "$tmp" |
    awk '/^msgctxt / { ctx = $0 } /^msgid / { id = $0 }
         /^msgstr / { if (id != "msgid \"\"") print (ctx ? ctx " " : "") id; ctx = "" }')
rm -f "$tmp"
if [ -n "$conflicts" ]; then
    echo "$conflicts" | while read -r line; do
        echo "po: translated two different ways in $*: $line" >&2
    done
    exit 65
fi
msgcat --force-po --use-first -o "$OUT" "$@"
