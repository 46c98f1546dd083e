#!/usr/bin/env python3
"""i18n_check.py -- keeps dealernet's translations honest (issue 13).

    i18n_check.py [--root DIR] [--pot FILE] [--catalogue-only]
    i18n_check.py --list [--root DIR] [FILE...]
    i18n_check.py --scan FILE...

Three checks, each naming what fails with file:line:

  (a) `msgfmt --check` on every fragment po/<lang>/*.po and on each
      language's catalogue merged by po/merge.sh (which refuses a msgid
      translated two different ways);
  (b) against the template the sources give (--pot, `make pot`): every
      msgid has a translation in every language, not empty and not fuzzy
      (a missing one is named by the source line that uses it), and no
      fragment holds a msgid the sources no longer have (except context
      "column": table headers are JSON keys, which xgettext cannot see);
  (c) unmarked strings a person reads: string literals in the C sources
      (common/ agent/ server/ hq/) that are not inside _(), N_() or C_()
      but are
        - the format or text of printf, fprintf, dprintf, fputs, puts;
        - the format of snprintf into a buffer that holds a reason or a
          message (a name with why, reason, err, msg or message in it);
        - the format argument of a function declared with
          __attribute__((format(printf, N, M))) (dn_why, the verifier's
          s_diff, the plan parser's s_error, ...), or the argument of a
          function whose parameter is called fmt, why, help or message
          (the command lines' s_fail, s_usage_error, ...);
        - prose in a table ({ ... } initializer): two lower-case words in a
          row, as help texts have and command syntax ("--line SKU:QTY")
          has not;
        - in hq/ and agent/, the text of dn_log_info, _warn and _error
          (and their _limited forms): there they are the command's
          lines on stderr a clerk or an accountant reads ("error: ...",
          what sync did), and the agent's daemon's journal, which field
          staff read;
      and skips what a person does not read or must not change: the
      server's dn_log_* (its log lines stay English: an operator greps
      them and an alert matches them), any dn_log_debug, SQL, JSON, text
      with no word in it ("%s\\n", ": "), paths, option names ("--json"),
      and any literal on a line that says why with the comment
      /* i18n: not for people: <reason> */ (or just below that comment
      alone on its line, where clang-format puts a long one).

DN_I18N_CATALOGUE_ONLY=1 (or --catalogue-only) runs (a) and (b) alone.
--list prints (c)'s offenders grouped by file, each file with its count,
then a count per folder, and exits 0: the worklist for wrapping strings.
--scan runs (c) on the files given and exits 1 if any string is unmarked
(the checker's own tests, on fixtures).
Exit: 0 all good, 1 a check failed, 64 usage, 69 a gettext tool missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXEMPT = "i18n: not for people"
MARKERS = {"_", "N_", "C_", "NC_", "dgettext", "gettext", "pgettext", "ngettext",
           "dn_i18n_cpgettext", "dn_i18n_pgettext"}
# name -> index of the argument a person reads
SINKS = {"printf": 0, "fprintf": 1, "dprintf": 1, "fputs": 0, "puts": 0,
         "vprintf": 0, "vfprintf": 1}
SNPRINTF = {"snprintf": (0, 2), "vsnprintf": (0, 2)}
MESSAGE_BUF = re.compile(r"why|reason|err|msg|message", re.I)
SINK_PARAMS = {"fmt", "why", "help", "message"}
LOGS = {"dn_log_debug", "dn_log_info", "dn_log_warn", "dn_log_error",
        "dn_log_warn_limited", "dn_log_error_limited"}
CLI_LOGS = {"dn_log_info", "dn_log_warn", "dn_log_error", "dn_log_warn_limited",
            "dn_log_error_limited"}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|"
                 r"COMMIT|ROLLBACK|SAVEPOINT|RELEASE|VALUES|WHERE|FROM)\b")
FORMAT_SPEC = re.compile(r"%[-+ #0'I]*(\*|[0-9]+)?(\.(\*|[0-9]+))?"
                         r"(hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcspn%]"
                         r"|%\"\s*PRI[a-zA-Z0-9]+\s*\"")
# Whole calls a person never reads as they are, by file: the text the
# server sends an agent (Refused.text: wire text, also logged and stored;
# the agent words the clerk's message from the RefuseCode), and the wire's
# own decoding reasons.  file -> {function: why}; "*" is the whole file.
NOT_FOR_PEOPLE = {
    "common/dn_wire.c": {"*": "the wire's decoding reasons: wire text"},
    "server/dn_ingest.c": {"s_refuse": "Refused.text: wire text, logged and stored"},
    "server/dn_session.c": {"s_pack_refused": "Refused.text: wire text"},
    "server/dn_metrics.c": {"*": "the Prometheus text: names and HELP for scrapers and alert rules"},
    "server/dn_zap.c": {"*": "the ZAP self-check's reasons: the server's start-up log"},
}
# Initializers of these types are log kinds (dn_log_warn_limited), not tables.
LOG_TYPES = {"dn_log_limit_t"}
PROSE = re.compile(r"\b[a-z]{2,}[,;:]? +[a-z]{2,}\b")
WORD = re.compile(r"[A-Za-z]{2,}")


# -- (c) the scanner -----------------------------------------------------------

TOKEN = re.compile(r'''
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>(?:u8|[LuU])?"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][A-Za-z0-9_.]*)
  | (?P<punct>->|\+\+|--|[-+*/%&|^!<>=]=|&&|\|\||<<|>>|\.\.\.|.)
''', re.S | re.X)


def c_unescape(body):
    """The text of a literal's body, escapes read well enough to judge it."""
    return re.sub(r"\\(n|t|r|\\|\"|'|[0-7]{1,3}|x[0-9a-fA-F]+)",
                  lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), " "), body)


def tokens(text):
    """(kind, value, line) of text's C tokens, preprocessor lines left out;
    comments are kept (kind "comment") so exemptions can be read."""
    line = 1
    at_line_start = True
    pos = 0
    n = len(text)
    while pos < n:
        if at_line_start:
            m = re.match(r"[ \t]*#", text[pos:pos + 200])
            if m:  # a directive, with its continuation lines
                end = pos
                while True:
                    nl = text.find("\n", end)
                    if nl < 0:
                        end = n
                        break
                    if text[nl - 1] == "\\":
                        line += 1
                        end = nl + 1
                        continue
                    end = nl
                    break
                pos = end
                continue
        m = TOKEN.match(text, pos)
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "nl":
            line += 1
            at_line_start = True
        elif kind == "ws":
            pass
        else:
            at_line_start = False
            yield kind, value, line
            line += value.count("\n")
        pos = m.end()


def sink_params(paths):
    """Functions whose argument a person reads, from the sources' own
    declarations: format(printf, N, M) attributes and parameters named
    fmt, why, help or message.  name -> argument index."""
    found = {}
    decl = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(([^;{)]*)\)[^;{]*?"
                      r"__attribute__\s*\(\(\s*format\s*\(\s*printf\s*,\s*([0-9]+)", re.S)
    func = re.compile(r"^(?:static\s+)?(?:const\s+)?[a-z_][a-z0-9_]*\s*\**\s*"
                      r"([a-z_][a-z0-9_]*)\s*\(([^;{)]*)\)\s*(?:\{|;|$)", re.M)
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        # comments out: a call in a comment ("return dn_why(why, ...)")
        # would otherwise take the declaration's attribute after it
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)
        for m in decl.finditer(text):
            found[m.group(1)] = int(m.group(3)) - 1
        for m in func.finditer(text):
            params = [p.strip() for p in m.group(2).split(",")]
            for i, p in enumerate(params):
                name = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", p)
                if name and name[-1] in SINK_PARAMS and "char" in p:
                    found.setdefault(m.group(1), i)
    for name in LOGS:
        found.pop(name, None)
    return found


def judge(text):
    """1 if a literal's text is something a person reads: it has a word once
    formats are taken out, and it is not SQL, JSON, a path or an option."""
    bare = FORMAT_SPEC.sub(" ", text)
    if not WORD.search(bare):
        return 0
    stripped = bare.strip()
    if SQL.search(text) and re.search(r"\b[A-Z]{3,}\b.*\b[A-Z]{3,}\b", text):
        return 0
    if stripped.startswith(("{", "[\"", "\"")):
        return 0  # JSON
    if re.fullmatch(r"-{1,2}[A-Za-z0-9][-A-Za-z0-9_=]*", stripped):
        return 0  # an option name
    if re.fullmatch(r"[./~]?[A-Za-z0-9_.-]*/[A-Za-z0-9_./-]*", stripped):
        return 0  # a path
    return 1


def scan_file(path, sinks, cli_logs):
    """The unmarked literals of one C file: (line, text, why) each."""
    with open(path, encoding="utf-8", errors="replace") as f:
        source = f.read()
    lines = source.split("\n")
    exempt = {i + 1 for i, l in enumerate(lines) if EXEMPT in l}
    # a comment alone on its line exempts the line below it too
    exempt |= {i + 2 for i, l in enumerate(lines)
               if EXEMPT in l and re.fullmatch(r"\s*/\*.*\*/\s*", l)}
    toks = [t for t in tokens(source) if t[0] != "comment"]
    rel = path.replace(os.sep, "/")
    skip_calls = {}
    for name, calls in NOT_FOR_PEOPLE.items():
        if rel == name or rel.endswith("/" + name):
            skip_calls = calls
    if "*" in skip_calls:
        return []
    out = []
    decl = []  # the identifiers of the statement so far (its type)
    # frames: [kind, name, argi, arg0_text, open_line, is_init]
    stack = []
    prev = None  # previous token (kind, value)
    i = 0
    while i < len(toks):
        kind, value, line = toks[i]
        if kind == "punct" and value == "(":
            name = prev[1] if prev and prev[0] == "ident" else None
            stack.append(["(", name, 0, "", line, False])
        elif kind == "punct" and value == "{":
            parent_init = bool(stack) and stack[-1][0] == "{" and stack[-1][5]
            is_init = prev is not None and (prev[1] in ("=", ",") or
                                             (prev[1] == "{" and parent_init))
            if is_init and LOG_TYPES & set(decl):
                is_init = False
            if not is_init:
                decl = []
            stack.append(["{", None, 0, "", line, is_init])
        elif kind == "punct" and value in (")", "}"):
            if stack:
                stack.pop()
            if value == "}":
                decl = []
        elif kind == "punct" and value == ";":
            decl = []
        elif kind == "punct" and value == ",":
            if stack:
                stack[-1][2] += 1
        elif kind == "string":
            # adjacent literals are one
            first = line
            parts = [value]
            while i + 1 < len(toks) and toks[i + 1][0] == "string":
                i += 1
                parts.append(toks[i][1])
            text = "".join(c_unescape(p[p.index('"') + 1:-1]) for p in parts)
            why = s_context(stack, sinks, cli_logs, path)
            if why and any(f[0] == "(" and f[1] in skip_calls for f in stack):
                why = None
            if why and not (first in exempt or (stack and stack[-1][4] in exempt)):
                if why == "table" and not (PROSE.search(text) and judge(text)):
                    why = None
                elif why != "table" and not judge(text):
                    why = None
                if why:
                    out.append((first, text, why))
            prev = ("string", value)
            i += 1
            continue
        if kind == "ident":
            decl.append(value)
        if kind == "punct" and value in ("(", ")", "{", "}", ",", ";"):
            pass
        elif stack and stack[-1][0] == "(" and stack[-1][2] == 0 and len(stack[-1][3]) < 200:
            stack[-1][3] += value  # the first argument's text (snprintf's buffer)
        prev = (kind, value)
        i += 1
    return out


def s_context(stack, sinks, cli_logs, path):
    """Why a literal at this point of the frames would be read by a person
    ("printf", "table", ...), or None when it is not, or is marked."""
    for frame in reversed(stack):
        if frame[0] == "(" and frame[1] in MARKERS:
            return None
    # the innermost call with a name
    for depth in range(len(stack) - 1, -1, -1):
        frame = stack[depth]
        if frame[0] == "{":
            return "table" if frame[5] else None
        name = frame[1]
        if name is None:
            continue  # grouping parentheses: the call around them decides
        if name in LOGS:
            if cli_logs and name in CLI_LOGS and s_is_cli(path):
                return name
            return None
        if name in SINKS:
            return name if frame[2] == SINKS[name] else None
        if name in SNPRINTF:
            buf, fmt = SNPRINTF[name]
            if frame[2] == fmt and MESSAGE_BUF.search(frame[3]):
                return name + " into " + frame[3]
            return None
        if name in sinks:
            return name if frame[2] == sinks[name] else None
        return None
    return None


def s_is_cli(path):
    p = path.replace(os.sep, "/")
    return "/hq/" in "/" + p or "/agent/" in "/" + p


def c_sources(root):
    out = []
    for folder in ("common", "agent", "server", "hq"):
        d = os.path.join(root, folder)
        if os.path.isdir(d):
            out += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".c"))
    return out


def scan(paths, root, cli_logs):
    headers = []
    for folder in ("common", "agent", "server", "hq"):
        d = os.path.join(root, folder)
        if os.path.isdir(d):
            headers += [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".h")]
    # the headers' functions are everyone's; a .c file's own (its static
    # s_fail, say) are its alone: dn_db.c's s_fail(db, what) is no sink
    # because agent/main.c has an s_fail(fmt, ...)
    shared = sink_params(headers)
    found = {}
    for p in paths:
        sinks = dict(shared)
        sinks.update(sink_params([p]))
        hits = scan_file(p, sinks, cli_logs)
        if hits:
            found[os.path.relpath(p, root) if not os.path.isabs(p) or p.startswith(root)
                  else p] = hits
    return found


# -- (a) and (b): the catalogues -------------------------------------------------

def po_read(path):
    """The entries of a .po or .pot: dicts with ctx, id, strs (list), fuzzy,
    refs (list of "file:line") and line (of its msgid); obsolete ones left
    out, the header included (id "")."""
    entries = []
    cur = None
    field = None

    def finish():
        if cur is not None and "id" in cur:
            entries.append(cur)

    def new():
        return {"ctx": None, "strs": [], "fuzzy": False, "refs": []}

    cur = new()
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("#~") or not line.strip():
                if not line.strip() and "id" in cur:
                    finish()
                    cur = new()
                continue
            if line.startswith("#,"):
                cur["fuzzy"] = cur["fuzzy"] or "fuzzy" in line
                continue
            if line.startswith("#:"):
                cur["refs"] += line[2:].split()
                continue
            if line.startswith("#"):
                continue
            m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if m:
                if m.group(1) == "msgctxt" and "id" in cur:
                    finish()
                    cur = new()
                field = m.group(1)
                val = po_unquote(m.group(2))
                if field == "msgctxt":
                    cur["ctx"] = val
                elif field == "msgid":
                    if "id" in cur:
                        finish()
                        cur = new()
                    cur["id"] = val
                    cur["line"] = n
                elif field == "msgid_plural":
                    cur["plural"] = val
                else:
                    cur["strs"].append(val)
                continue
            m = re.match(r'"(.*)"$', line)
            if m and field:
                val = po_unquote(m.group(1))
                if field == "msgctxt":
                    cur["ctx"] += val
                elif field == "msgid":
                    cur["id"] += val
                elif field == "msgid_plural":
                    cur["plural"] += val
                else:
                    cur["strs"][-1] += val
    finish()
    return entries


def po_unquote(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)


def show(entry):
    ctx = "[%s] " % entry["ctx"] if entry["ctx"] is not None else ""
    return ctx + '"' + entry["id"].replace("\n", "\\n") + '"'


def check_catalogues(root, pot):
    """(a) and (b); returns the list of failures."""
    fails = []
    po_dir = os.path.join(root, "po")
    langs = sorted(d for d in os.listdir(po_dir) if os.path.isdir(os.path.join(po_dir, d)))
    template = [e for e in po_read(pot) if e["id"] != ""] if pot else None
    tmp = tempfile.mkdtemp(prefix="i18n_check.")
    try:
        for lang in langs:
            frags = sorted(os.path.join(po_dir, lang, f)
                           for f in os.listdir(os.path.join(po_dir, lang)) if f.endswith(".po"))
            for frag in frags:
                r = subprocess.run(["msgfmt", "--check", "-o", os.devnull, frag],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    fails.append("%s: msgfmt --check: %s" % (os.path.relpath(frag, root),
                                                              r.stderr.strip()))
            merged = os.path.join(tmp, lang + ".po")
            r = subprocess.run(["sh", os.path.join(po_dir, "merge.sh"), merged] + frags,
                               capture_output=True, text=True)
            if r.returncode != 0:
                fails.append("po/%s: merge: %s" % (lang, r.stderr.strip()))
                continue
            r = subprocess.run(["msgfmt", "--check", "-o", os.devnull, merged],
                               capture_output=True, text=True)
            if r.returncode != 0:
                fails.append("po/%s (merged): msgfmt --check: %s" % (lang, r.stderr.strip()))
            if template is None:
                continue
            # the template's flags (c-format) on the translations, so that
            # msgfmt --check compares their formats even where a fragment
            # forgot the flag
            flagged = os.path.join(tmp, lang + ".flagged.po")
            r = subprocess.run(["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", flagged,
                                merged, pot], capture_output=True, text=True)
            if r.returncode == 0:  # (msgmerge marks a mismatch fuzzy: unmark to check)
                r = subprocess.run(["msgattrib", "--clear-fuzzy", "-o", flagged, flagged],
                                   capture_output=True, text=True)
            if r.returncode == 0:
                r = subprocess.run(["msgfmt", "--check-format", "-o", os.devnull, flagged],
                                   capture_output=True, text=True)
            if r.returncode != 0:
                fails.append("po/%s against the sources' formats: %s" % (lang, r.stderr.strip()))
            have = {}
            for e in po_read(merged):
                have[(e["ctx"], e["id"])] = e
            for e in template:
                t = have.get((e["ctx"], e["id"]))
                where = e["refs"][0] if e["refs"] else "?"
                if t is None:
                    fails.append("%s: %s: not in po/%s" % (where, show(e), lang))
                elif t["fuzzy"] or not t["strs"] or not all(t["strs"]):
                    fails.append("%s: %s: po/%s's translation is %s" % (
                        where, show(e), lang, "fuzzy" if t["fuzzy"] else "empty"))
            wanted = {(e["ctx"], e["id"]) for e in template}
            for frag in frags:
                for e in po_read(frag):
                    if e["id"] == "" or e["ctx"] == "column":
                        continue
                    if (e["ctx"], e["id"]) not in wanted:
                        fails.append("%s:%d: %s: no source has it any more" % (
                            os.path.relpath(frag, root), e["line"], show(e)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return fails


# -- main --------------------------------------------------------------------------

def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    pot = None
    mode = "check"
    cli_logs = True
    catalogue_only = os.environ.get("DN_I18N_CATALOGUE_ONLY") == "1"
    files = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 1
        elif a == "--pot" and i + 1 < len(argv):
            pot = argv[i + 1]
            i += 1
        elif a == "--list":
            mode = "list"
        elif a == "--scan":
            mode = "scan"
        elif a == "--catalogue-only":
            catalogue_only = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        elif a.startswith("-"):
            print("i18n_check: unknown option %s (see --help)" % a, file=sys.stderr)
            return 64
        else:
            files.append(a)
        i += 1
    if mode == "scan" and not files:
        print("i18n_check: --scan needs files", file=sys.stderr)
        return 64
    if mode in ("list", "scan"):
        found = scan(files or c_sources(root), root, cli_logs)
        total = 0
        by_dir = {}
        for path in sorted(found):
            hits = found[path]
            total += len(hits)
            d = os.path.dirname(path) or "."
            by_dir[d] = by_dir.get(d, 0) + len(hits)
            print("%s: %d" % (path, len(hits)))
            for line, text, why in hits:
                print('  %s:%d: %s: "%s"' % (path, line, why,
                                              text.replace("\n", "\\n")[:100]))
        for d in sorted(by_dir):
            print("folder %s: %d" % (d, by_dir[d]))
        print("unmarked strings: %d" % total)
        return 1 if mode == "scan" and total else 0

    for tool in ("msgfmt", "msgcat", "msgattrib", "msgmerge"):
        if not shutil.which(tool):
            print("i18n_check: %s not found: apt-get install gettext" % tool, file=sys.stderr)
            return 69
    fails = check_catalogues(root, pot)
    for f in fails:
        print("FAIL %s" % f)
    print("catalogues (msgfmt --check, merge%s): %d failure(s)" % (
        ", translations against the sources" if pot else "", len(fails)))
    ok = not fails
    if not catalogue_only:
        found = scan(c_sources(root), root, cli_logs)
        total = sum(len(h) for h in found.values())
        by_dir = {}
        for path, hits in found.items():
            d = os.path.dirname(path)
            by_dir[d] = by_dir.get(d, 0) + len(hits)
        for d in sorted(by_dir):
            print("FAIL unmarked strings in %s/: %d" % (d, by_dir[d]))
        print("unmarked strings a person reads: %d (tests/lib/i18n_check.py --list names "
              "them)" % total)
        ok = ok and total == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
