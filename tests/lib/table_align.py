#!/usr/bin/env python3
"""table_align.py -- a table's columns line up by display width.

    python3 tests/lib/table_align.py FILE

FILE holds one table, its header first.  Every line of it has its columns
where the header has them: two spaces before each column's start, and each
column's texts all starting at its start (left-aligned) or all ending at one
display column (right-aligned numbers).  A line without two spaces in a row
is not a row (the count line under a table, "5 members", "2 sales, total
..."), and neither is an empty one.  Exits 1, printing what is off, when a
column is not aligned; else prints the column starts.

Widths are computed here independently of the programs (python3's
unicodedata): East Asian Wide and Fullwidth 2, combining marks, joiners,
selectors and skin tones 0, a variation selector 16 making an emoji 2.
Used by tests/cli/display_width.sh and tests/lib/demo_zh.py (problems()).
Stdlib only.
"""
import sys
import unicodedata


def width(text):
    """Terminal columns, by the rules dn_render_width documents."""
    total, last = 0, 0
    for ch in text:
        cp = ord(ch)
        if cp == 0xFE0F:            # VS16: the character before is an emoji
            if last == 1:
                total += 1
            last = 2
            continue
        if (unicodedata.category(ch) in ("Mn", "Me", "Cf") or cp == 0x200D
                or 0x1F3FB <= cp <= 0x1F3FF):
            continue                # marks, joiners, skin tones
        last = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        total += last
    return total


def cells(line):
    """The display columns of line, one entry per column (a wide character
    fills two, the second None)."""
    out, base = [], -1
    for ch in line:
        w = width(ch)
        if ch == "\ufe0f" and base >= 0 and (base + 1 == len(out)):
            out.append(None)      # VS16 made a narrow character an emoji
        if w == 0 and base >= 0:
            out[base] += ch       # joins the character before it
            continue
        base = len(out)
        out.append(ch)
        if w == 2:
            out.append(None)
    return out


def problems(lines):
    """(what is off, one text each; the column starts) of the table whose
    lines (header first) are given."""
    header = lines[0]
    # column starts: where a header word begins after two spaces (headers hold
    # single spaces, like "LAST PURCHASE"), counted in display columns
    hc = cells(header)
    starts = [0] + [i for i in range(2, len(hc))
                    if hc[i] not in (" ", None) and hc[i - 2:i] == [" ", " "]]
    bad = []
    table = [hc]
    for line in lines[1:]:
        if not line or "  " not in line:
            continue
        c = cells(line)
        table.append(c)
        for s in starts[1:]:
            # the two columns before each start are the gap: spaces on every line
            if any(c[i] != " " for i in (s - 2, s - 1) if i < len(c)):
                bad.append("no gap before column %d: %r" % (s, line))
    # within each column, every line's text starts at the column's start (left-
    # aligned) or ends at one same column (right-aligned numbers)
    for k, s in enumerate(starts):
        e = starts[k + 1] - 2 if k + 1 < len(starts) else max(len(c) for c in table)
        firsts, lasts = set(), set()
        for c in table:
            used = [i for i in range(s, min(e, len(c))) if c[i] not in (" ",)]
            if used:
                firsts.add(used[0])
                lasts.add(used[-1])
        if firsts != {s} and len(lasts) != 1:
            bad.append("column at %d: texts start at %s and end at %s"
                       % (s, sorted(firsts), sorted(lasts)))
    return bad, starts


def main():
    lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
    bad, starts = problems(lines)
    for text in bad:
        print(text)
    if bad:
        return 1
    print("%d lines, columns at %s" % (len(lines) - 1, starts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
