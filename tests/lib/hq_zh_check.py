#!/usr/bin/env python3
"""hq_zh_check.py -- dealernet-hq's tables read Chinese, its scripts' outputs
do not change (issue 13, item 1; run by tests/cli/hq_zh.sh).

    hq_zh_check.py COMMANDS -- HQ_COMMAND...

COMMANDS is a file, one read-only dealernet-hq command a line (words split
as a shell would, '#' starts a comment), each led by the outputs it has
besides the table: "jc" (--json and --csv), "j" (--json), "-" (neither),
with "~" when its figures follow the clock (sites' silent_ms: the server's
clock moves between two runs), whose outputs are then compared with every
run of digits read as 0, and with "!KEY" when KEY holds prose for people
(refusals' "what"), which follows the reader's language like every message:
the issue keeps keys, exit codes and CSV headers stable, and a script reads
the kind, not the sentence; KEY is then left out of both runs' --json and
--csv before they are compared.
HQ_COMMAND is how to run dealernet-hq against the test's server (the clock,
--server, --server-key, --key).  Each command runs under LANG=zh_CN.UTF-8
and under LANG=C.UTF-8, as a table and in each of its formats, and fails
when:
  - the two exit codes differ;
  - --json's or --csv's bytes differ (scripts read them whatever the
    language);
  - the Chinese table still shows a JSON key of the command's result as its
    English header: a table's header is the key upper-cased (dn_render,
    "ITEMS"), a key / value block's label is the key as it is ("closing");
    either means po/zh_CN/columns.po lacks the key's "column" translation.
    The keys are those of the command's --json result (the table's header is
    a key: a word of the line that is a key upper-cased, or, on a key /
    value line, its first word when it is a key).
Prints one line per check, "ok" or "FAIL", and exits 1 if any failed.
"""
import json
import os
import re
import shlex
import subprocess
import sys

UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


def run(hq, lang, words):
    env = dict(os.environ)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    env["LANG"] = lang
    p = subprocess.run(hq + words, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr


def keys_of(value, in_rows, table_keys, label_keys):
    """Collects value's object keys: those of objects that are rows of an
    array (shown as a table's header) and the others (a key / value
    block's labels)."""
    if isinstance(value, dict):
        for key, item in value.items():
            (table_keys if in_rows else label_keys).add(key)
            keys_of(item, False, table_keys, label_keys)
    elif isinstance(value, list):
        for item in value:
            keys_of(item, True, table_keys, label_keys)


def untranslated(text, table_keys, label_keys):
    """The English headers left in a table's text: (line number, word)."""
    found = []
    upper = {key.upper() for key in table_keys}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        for word in words:
            if UPPER.match(word) and word in upper:
                found.append((number, word))
        # a key / value line: "label  value", the label a key as it is
        if words and words[0] in label_keys and re.match(r"^\S+( {2,}|$)", line):
            found.append((number, words[0]))
    return found


def s_drop(out, fmt, key):
    """out (--json or --csv bytes) without key's values (the key stays)."""
    if fmt == "--json":
        try:
            value = json.loads(out)
        except ValueError:
            return out
        rows = value if isinstance(value, list) else [value]
        for row in rows:
            if isinstance(row, dict) and key in row:
                row[key] = None
        return json.dumps(value).encode()
    import csv
    import io
    lines = list(csv.reader(io.StringIO(out.decode())))
    if not lines or key not in lines[0]:
        return out
    col = lines[0].index(key)
    return "\n".join(",".join(c if i != col or n == 0 else "" for i, c in enumerate(l))
                     for n, l in enumerate(lines)).encode()


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print("usage: hq_zh_check.py COMMANDS -- HQ_COMMAND...", file=sys.stderr)
        return 64
    hq = argv[3:]
    failed = 0
    checks = 0

    def check(name, good, detail=""):
        nonlocal failed, checks
        checks += 1
        if good:
            print("ok   %s" % name)
        else:
            failed += 1
            print("FAIL %s%s" % (name, ": " + detail if detail else ""))

    with open(argv[1], encoding="utf-8") as f:
        lines = [l.split("#", 1)[0].strip() for l in f]
    for line in lines:
        if not line:
            continue
        formats, *words = shlex.split(line)
        name = " ".join(words)
        zh = run(hq, "zh_CN.UTF-8", words)
        en = run(hq, "C.UTF-8", words)
        check("%s: exit %d under both" % (name, en[0]), zh[0] == en[0],
              "zh_CN %d, C %d: %s" % (zh[0], en[0], zh[2].decode(errors="replace").strip()))
        table_keys, label_keys = set(), set()
        for fmt in ("--json", "--csv"):
            if fmt[2] not in formats:
                continue
            zf = run(hq, "zh_CN.UTF-8", words + [fmt])
            ef = run(hq, "C.UTF-8", words + [fmt])
            if "~" in formats:
                zf = (zf[0], re.sub(rb"[0-9]+", b"0", zf[1]), zf[2])
                ef = (ef[0], re.sub(rb"[0-9]+", b"0", ef[1]), ef[2])
            if "!" in formats:
                prose = formats.split("!", 1)[1]
                zf = (zf[0], s_drop(zf[1], fmt, prose), zf[2])
                ef = (ef[0], s_drop(ef[1], fmt, prose), ef[2])
            check("%s %s: exit %d, the same bytes under both" % (name, fmt, ef[0]),
                  zf[0] == ef[0] and zf[1] == ef[1],
                  "exit %d / %d, %d / %d bytes" % (zf[0], ef[0], len(zf[1]), len(ef[1])))
            if zf[1] != ef[1]:
                sys.stdout.write("zh_CN:\n%s\nC:\n%s\n" % (zf[1].decode(), ef[1].decode()))
            if fmt == "--json" and ef[0] == 0:
                keys_of(json.loads(ef[1]), False, table_keys, label_keys)
        if zh[0] == 0 and (table_keys or label_keys):
            left = untranslated(zh[1].decode(), table_keys, label_keys)
            check("%s: every header in Chinese" % name, not left,
                  ", ".join("line %d: %s" % (n, w) for n, w in left))
            if left:
                sys.stdout.write(zh[1].decode())
    print("hq_zh_check: %d checks, %d failed" % (checks, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
