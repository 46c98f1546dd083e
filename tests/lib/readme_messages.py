#!/usr/bin/env python3
"""readme_messages.py -- every message the README quotes is one a program prints.

Called by tests/lib/readme_examples.py (check()); run alone, it checks
README.md against the sources of the working tree without a server:

    python3 tests/lib/readme_messages.py [README.md] [-v]

A *quoted message* of README.md is one of (the rule, exactly):

 1. a line of a fenced block of the shape dn_log (common/dn_log.c) writes or
    a program prints on stderr: `[TIME ]PROGRAM: LEVEL: text` or
    `LEVEL: text`, LEVEL one of error, warning, info, TIME a log timestamp;
 2. a backticked span that is *message-shaped* (below) and stands
    - anywhere in the sections "Troubleshooting sync" and "Troubleshooting"
      (故障排除 in README.zh-CN.md),
    - in a column of a table whose header says what a program says (it
      contains "says", "message", "logged", "reason" or "refused with"),
    - or first in a list item (`- `...`` lines, e.g. the enrollment code's
      refusals under "Enrolling a site").
    A span may wrap lines: a paragraph, list item or table row is joined
    with single spaces first.

A span is *message-shaped* when, without its elisions (`…`, `...`), it has
15 or more characters and 3 or more words, or 4 or more Han characters (a
translated README: Chinese puts no spaces between words; not an option,
`--...`), and it does not start with `$ ` or a command (dealernet-PROG,
sudo, chmod, chown, chgrp, systemctl, usermod, make, man): commands and
code names are not messages.

The program side: every C string literal of agent/, server/, hq/ and
common/ (adjacent literals joined, as the compiler joins them, with the
PRI* macros of inttypes.h between them read as conversions), each line of
it a *format*.  printf conversions (%s, %lld, %.8s, %04o, ...) are *holes*.
A format is used only if its literal text has 4 or more letters or digits:
"%s: %s" or "%s (%s): %s" would pass any sentence with a colon.

A translated README (README.zh-CN.md; check(lang="zh_CN")) quotes what the
programs print under LANG=zh_CN.UTF-8: there, each line of each msgstr of
po/zh_CN/*.po is a format too (po_formats), beside the English ones (what
stays English: the server's own texts, dn_log's prefix); a value ends at a
full-width "：", "；", "，" or "。" as at ": " and "; ".  A quote that
neither produces fails, as in README.md.

A quoted message is *found* when one format produces it, where
 - a hole stands for a value: up to 48 characters and 4 words, without
   ": " or "; " (a code, a number, a path, an address, strerror's text, the
   README's placeholders N, DIR, tcp://H:P ...),
 - or a hole stands for the text of another format (how the programs build
   messages in parts: "sync failed, %llu event%s kept pending: %s" with the
   cause, "enrollment refused: %s" with the server's text), two levels deep,
 - the README's elision (`…` or `...`) stands for any text, so a message
   cut short is found in a longer format,
 - and a leading dn_log prefix (`[TIME ]PROGRAM: LEVEL: `, as s_write
   writes it) is taken off first: PROGRAM is dealernet-agent, -hq or
   -server, and a bare `LEVEL: ` is only found where a format prints it.

What a program fills in (a hole) is not checked: a README that says
`owner zqzqz` where the program prints `owner %s` still passes; its words
are.  A message that cannot be found so is listed in EXEMPT with the reason; an
EXEMPT entry that no longer names a quoted message fails, like one not found.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import i18n_check  # noqa: E402  (beside this file: its .po reader)

# Quoted messages that the rule above cannot find, each with why it is
# still true to the program.  The key is the message as quoted (wrapped
# lines joined with one space).
EXEMPT = {
    "dealernet-agent: error: refund 01a24ad9-a0f4-7c4e-9a2b-6f1d0c3e5b77 (seq 9, 2.00 CNY) of sale 01a24ad9-9e0c-7a51-8d3e-2b9f4c6a1e08, which the server already holds, cannot be moved to another PC (it does not hold that sale): sync this PC if the server still takes it; if not, ask headquarters to void the sale or post an adjustment ('dealernet-hq sale void 01a24ad9-9e0c-7a51-8d3e-2b9f4c6a1e08 --reason ...' / 'dealernet-hq adjust'), then export again with --skip-unmovable (and 1 more like it, listed by --skip-unmovable); nothing was exported":
        "export's refusal is one format with a second appended to it (\" (and %lld more like "
        "it, ...); nothing was exported\", agent/dn_import.c), which the matcher does not "
        "join; cli/agent_import checks this exact line",
}

SECTIONS = ("Troubleshooting sync", "Troubleshooting", "故障排除")
MESSAGE_COLUMN = re.compile(r"says|message|logged|reason|refused with", re.I)
COMMANDS = {"dealernet-agent", "dealernet-hq", "dealernet-server", "sudo", "chmod",
            "chown", "chgrp", "systemctl", "usermod", "make", "man", "catalog"}
LOG_LINE = re.compile(r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )?"
                      r"(?:dealernet-(?:agent|hq|server): )?(?:error|warning|info): ")
LOG_PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )?"
                        r"dealernet-(?:agent|hq|server): (?:error|warning|info|debug): ")
ELISION = re.compile(r"…|\.\.\.")
HAN = re.compile(r"[\u4e00-\u9fff]")
SOURCE_DIRS = ("agent", "server", "hq", "common")

# -- the README's quoted messages ---------------------------------------------


def _message_shaped(span):
    bare = ELISION.sub(" ", span).strip()
    words = bare.split()
    # Chinese writes no spaces between words: 4 Han characters make a
    # sentence of a translated README (没有未读通知)
    # (an option, --line 商品编码:数量, is a command's part, not one)
    han = len(HAN.findall(bare)) >= 4 and not words[0].startswith("--")
    if (len(bare) < 15 or len(words) < 3) and not han:
        return False
    return not (span.startswith("$ ") or words[0] in COMMANDS)


def quoted(readme):
    """[(line number, message)] in README order, each message once."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    found = []
    section = ""
    fence = False
    units = []  # (first line number, joined text, kind) of prose

    def flush(unit):
        if unit:
            units.append(unit)

    unit = None
    table_header = None
    for no, line in enumerate(lines, 1):
        if line.startswith("```"):
            fence = not fence
            flush(unit)
            unit = None
            continue
        if fence:
            if LOG_LINE.match(line):
                found.append((no, line.rstrip()))
            continue
        heading = re.match(r"^#+ (.*)", line)
        if heading:
            flush(unit)
            unit = None
            section = heading.group(1).strip()
            continue
        if line.startswith("|"):
            flush(unit)
            unit = None
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if table_header is None:
                table_header = cells
            elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
                for i, cell in enumerate(cells):
                    in_column = i < len(table_header) and MESSAGE_COLUMN.search(table_header[i])
                    if in_column or section in SECTIONS:
                        units.append((no, cell, "cell", section))
            continue
        table_header = None
        if not line.strip():
            flush(unit)
            unit = None
        elif re.match(r"^\s*[-*] ", line) or unit is None:
            flush(unit)
            kind = "item" if re.match(r"^\s*[-*] ", line) else "para"
            unit = (no, line.strip(), kind, section)
        else:
            unit = (unit[0], unit[1] + " " + line.strip(), unit[2], unit[3])
    flush(unit)
    for no, text, kind, sect in units:
        spans = re.findall(r"`([^`]+)`", text)
        if sect not in SECTIONS and kind != "cell":
            first = re.match(r"^[-*] `([^`]+)`", text)
            spans = [first.group(1)] if kind == "item" and first else []
        for span in spans:
            if _message_shaped(span):
                found.append((no, span))
    seen, result = set(), []
    for no, msg in found:
        if msg not in seen:
            seen.add(msg)
            result.append((no, msg))
    return result

# -- the programs' formats -----------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "a": "\a",
            "0": "\0", "?": "?"}
_CONVERSION = re.compile(r"%(?:%|[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                         r"(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp])")
HOLE = object()


def _unescape(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        octal = re.match(r"[0-7]{1,3}", body[i + 1:])
        if octal:
            out.append(chr(int(octal.group(0), 8)))
            i += 1 + len(octal.group(0))
        elif nxt == "x":
            hexa = re.match(r"[0-9a-fA-F]+", body[i + 2:]).group(0)
            out.append(chr(int(hexa, 16)))
            i += 2 + len(hexa)
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|\'(?:\\.|[^\\\'])*\'|"((?:\\.|[^\\"\n])*)"'
                    r'|\#[ \t]*define[ \t]+\w+(?:\([^)]*\))?'
                    r'|\bDN_STR\([^()]*\)|[A-Za-z_]\w*|\\\n|\s+|.', re.S)


def _pieces(text, macros):
    """(string or None) per token of C text: a literal's value, a string
    macro's value, "%s" for DN_STR(...) (a number made text), "d" for a PRI*
    macro (after "%"); None for any other token.  Blanks and comments give
    nothing."""
    for m in _TOKEN.finditer(text):
        t = m.group(0)
        if t.startswith('"'):
            yield _unescape(m.group(1))
        elif t.startswith("DN_STR("):
            yield "%s"
        elif re.fullmatch(r"PRI[diouxX]\w+", t):
            yield "d"
        elif t in macros:
            yield macros[t]
        elif not (t.isspace() or t.startswith("//") or t.startswith("/*") or t == "\\\n"):
            yield None


def string_macros(sources):
    """{NAME: value} of the #defines whose body is string literals only."""
    macros = {}
    define = re.compile(r"^#[ \t]*define[ \t]+(\w+)[ \t]+((?:[^\n\\]|\\\n|\\)*)", re.M)
    for _ in range(3):  # a macro may name another, defined in another file
        for text in sources:
            for m in define.finditer(text):
                parts = list(_pieces(m.group(2), macros))
                if parts and None not in parts:
                    macros[m.group(1)] = "".join(parts)
    return macros


def literals(text, macros):
    """The string literals of C source text, adjacent ones joined as the
    compiler joins them, string macros among them expanded."""
    result, current = [], None
    for piece in _pieces(text, macros):
        if piece is None:
            if current is not None:
                result.append(current)
            current = None
        else:
            current = (current or "") + piece
    if current is not None:
        result.append(current)
    return result


def formats(root):
    """[tokens] of every format used: a token is a character or HOLE."""
    sources = []
    for sub in SOURCE_DIRS:
        folder = os.path.join(root, sub)
        for name in sorted(os.listdir(folder)):
            if name.endswith((".c", ".h")):
                sources.append(open(os.path.join(folder, name), encoding="utf-8").read())
    macros = string_macros(sources)
    found = set()
    for src in sources:
        for lit in literals(src, macros):
            for line in lit.split("\n"):
                if line.strip():
                    found.add(line)
    # import names the record an error is about with the wordless
    # "%s %s: %s" (a noun of s_nouns, its ref, the reason): each noun
    # makes that format one with words of its own.
    nouns = re.search(r"s_nouns\[[^]]*\]\s*=\s*\{([^}]*)\}",
                      open(os.path.join(root, "agent", "dn_import.c"), encoding="utf-8").read())
    for noun in re.findall(r'"([^"]+)"', nouns.group(1)) if nouns else []:
        found.add(noun + " %s: %s")
    return _tokenized(found)


def po_formats(root, lang="zh_CN"):
    """[tokens] of every translation (msgstr) of po/LANG/*.po, as formats()
    gives the English ones: a line of a msgstr is a format, its printf
    conversions (and PRI macros as gettext writes them, %<PRId64>) holes.
    A translated README (README.zh-CN.md) quotes what the programs print
    under LANG: the msgstrs, with the English formats for what stays
    English (the server's own texts, values)."""
    folder = os.path.join(root, "po", lang)
    found = set()
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".po"):
            continue
        for entry in i18n_check.po_read(os.path.join(folder, name)):
            if entry["id"] == "" or entry["fuzzy"]:
                continue
            for text in entry["strs"]:
                for line in re.sub(r"%<PRI\w+>", "%d", text).split("\n"):
                    if line.strip():
                        found.add(line)
    return _tokenized(found)


def _tokenized(found):
    """The formats of a set of lines, each a tuple of characters and HOLEs,
    those with anchors() only."""
    result = []
    for text in sorted(found):
        tokens, pos = [], 0
        for m in _CONVERSION.finditer(text):
            tokens.extend(text[pos:m.start()])
            tokens.append("%" if m.group(0) == "%%" else HOLE)
            pos = m.end()
        tokens.extend(text[pos:])
        if anchors(tokens):
            result.append(tuple(tokens))
    return result


def anchors(fmt):
    """Whether a format is used: 4 or more letters or digits of its own."""
    return sum(1 for t in fmt if t is not HOLE and t.isalnum()) >= 4

# -- matching ------------------------------------------------------------------

ELIDE = object()
MAX_VALUE_CHARS, MAX_VALUE_WORDS, MAX_DEPTH = 48, 4, 2
STOPS = ("：", "；", "，", "。")


def _runs(fmt):
    """The literal runs of a format, between its holes."""
    runs, run = [], []
    for t in fmt:
        if t is HOLE:
            runs.append(run)
            run = []
        else:
            run.append(t)
    return [r for r in runs + [run] if r]


class Matcher:
    """Whether a quoted message is produced by the formats (see the top)."""

    def __init__(self, fmts):
        self.all = [(f, ["".join(t) for t in _runs(f)]) for f in fmts]

    def found(self, message):
        text = []
        for piece in re.split(r"(…|\.\.\.)", message):
            text.extend([ELIDE] if piece in ("…", "...") else piece)
        self.text = text
        self.memo = {}
        # a format whose literal runs are not all in an unelided message
        # cannot produce it: left out, for speed only
        elided = ELIDE in text
        self.fmts = [f for f, runs in self.all if elided or all(r in message for r in runs)]
        self.by_start = {}   # first literal character -> formats
        self.hole_first = []  # formats that start with a hole
        for f in self.fmts:
            if f[0] is HOLE:
                self.hole_first.append(f)
            else:
                self.by_start.setdefault(f[0], []).append(f)
        # a bare LEVEL: is dn_log's prefix cut short unless a format
        # itself starts so (the agent's clock warning)
        level = re.match(r"(?:error|warning|info): ", message)
        if level:
            first = [f for f in self.fmts if f[:len(level.group(0))] == tuple(level.group(0))]
            return any(len(text) in self._produce(f, 0, 0) for f in first)
        return len(text) in self._spans(0, 0)

    def _value_ends(self, p):
        """Ends q of text[p:q] a hole can hold as a value."""
        text, ends, chars, words = self.text, [p], 0, 1
        for q in range(p, len(text)):
            t = text[q]
            if t is not ELIDE:
                if t == " ":
                    words += 1
                    if q > p and text[q - 1] in (":", ";"):
                        break
                # the full-width marks end a Chinese clause as ": " and
                # "; " end an English one: no value holds them
                if t in STOPS:
                    break
                chars += 1
                if chars > MAX_VALUE_CHARS or words > MAX_VALUE_WORDS:
                    break
            ends.append(q + 1)
        return ends

    def _candidates(self, p):
        t = self.text[p] if p < len(self.text) else None
        if t is ELIDE:
            return self.fmts
        return self.by_start.get(t, []) + self.hole_first

    def _spans(self, p, depth):
        """Ends q such that some format produces text[p:q]."""
        key = (p, depth)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = set()
        ends = set()
        for f in self._candidates(p):
            ends |= self._produce(f, p, depth)
        self.memo[key] = ends
        return ends

    def _produce(self, f, p, depth):
        text, ends = self.text, set()
        todo, seen = [(0, p)], set()
        while todo:
            i, q = todo.pop()
            if (i, q) in seen:
                continue
            seen.add((i, q))
            if i == len(f):
                ends.add(q)
                # an elision may go on past the format's end
                if q < len(text) and text[q] is ELIDE:
                    todo.append((i, q + 1))
                continue
            if q < len(text) and text[q] is ELIDE:
                todo.append((i + 1, q))   # the elision takes f[i]
                todo.append((i, q + 1))   # the elision ends
                continue
            if f[i] is HOLE:
                for r in self._value_ends(q):
                    todo.append((i + 1, r))
                if depth < MAX_DEPTH and q < len(text):
                    for r in self._spans(q, depth + 1):
                        todo.append((i + 1, r))
            elif q < len(text) and text[q] == f[i]:
                todo.append((i + 1, q + 1))
        return ends


def check(readme, root, fail, verbose=False, stale=True, lang=None):
    """Checks every quoted message; returns (checked, not found).  stale:
    an EXEMPT entry that names no message of this README fails (README.md's
    check; a translation quotes fewer messages and passes False).  lang: the
    README is in LANG (zh_CN): a message is found among the translations of
    po/LANG/*.po as well (po_formats), and a quote of neither fails."""
    fmts = formats(root)
    if lang:
        fmts += po_formats(root, lang)
    matcher = Matcher(fmts)
    messages = quoted(readme)
    missing = 0
    names = set()
    for no, message in messages:
        names.add(message)
        if message in EXEMPT:
            if verbose:
                print("exempt README:%d %s (%s)" % (no, message, EXEMPT[message]))
            continue
        bare = LOG_PREFIX.sub("", message)
        if matcher.found(bare):
            if verbose:
                print("ok   README:%d %s" % (no, message))
            continue
        missing += 1
        fail("README:%d quotes a message no program prints: %s" % (no, message))
    for message in sorted(set(EXEMPT) - names if stale else []):
        missing += 1
        fail("an EXEMPT entry names no quoted message: %s" % message)
    return len(messages), missing


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    readme = args[0] if args else os.environ.get("DN_README", "README.md")
    root = os.path.dirname(os.path.abspath(readme))

    def fail(text):
        print("FAIL " + text)

    # EXEMPT is README.md's: a translation (README.zh-CN.md) quotes fewer,
    # in the language its name ends with
    lang = re.match(r"README\.([a-z]{2})-([A-Z]{2})\.md$", os.path.basename(readme))
    checked, missing = check(readme, root, fail, "-v" in sys.argv,
                             stale=os.path.basename(readme) == "README.md",
                             lang=lang and "%s_%s" % lang.groups())
    print("readme: %d quoted messages checked, %d not found" % (checked, missing))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
