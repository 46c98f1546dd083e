#!/usr/bin/env python3
"""demo_zh.py -- the demo in English and in Chinese: one network, one set of figures.

    python3 tests/lib/demo_zh.py EN.txt ZH.txt LOCALEDIR
    python3 tests/lib/demo_zh.py --self-test

Used by tests/cli/demo_zh.sh, which runs deploy/demo.sh twice on one pinned
clock, under LANG=C.UTF-8 (EN.txt) and LANG=zh_CN.UTF-8 (ZH.txt).
LOCALEDIR holds zh_CN/LC_MESSAGES/dealernet.mo, the catalogue the programs
read.  A *section* of a demo's output is what one command printed: from its
`$ ` line (or a `== ` heading) to the next.  Checks, each printed as
"ok   ..." or "FAIL ...":

 (a) figures: the two runs print the same sections in the same order, and
     each section the same decimal amounts (-12.34: digits, a point, two
     digits, not inside a word, a time or an address) in the same order;
     the closing balances that tests/cli/demo_figures.sh computes by hand
     hold in both runs, read at the statement's own label (English
     "closing", Chinese the catalogue's translation of it);
 (b) Chinese: every table header and statement label of TABLES whose
     English text is a key the catalogue translates (context "column", the
     key lower-cased: "OPENING" -> "opening" -> 期初余额) shows that
     translation in Chinese (PENDING lists what a translator has still to
     wire, printed as a note once it is done), EXPECT_ZH names headers that
     must be there, and no English table header holds a Chinese character;
     every line of an English section that is a message the catalogue
     translates (whole, after a "PROGRAM: LEVEL: " prefix; its printf holes
     standing for any text) has a line in the Chinese section that is its
     translation -- so each message a translator adds is checked here
     without an edit;
 (c) alignment: every paragraph (lines between blank lines) of every
     section of TABLES, in both runs, has its columns at the same display
     columns on every line (tests/lib/table_align.py).
Stdlib only.
"""
import gettext
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table_align  # noqa: E402  (beside this file)

# The sections whose paragraphs are tables (a header line, then rows) or
# label/value blocks (a statement's "opening  0.00"), by the start of their
# command line.  Each must be in the demo: a section renamed there fails
# here, so that no table drops out of the check unnoticed.
TABLES = [
    "dealernet-agent sales",
    "dealernet-agent reminders",
    "dealernet-hq partner list",
    "dealernet-hq site list",
    "dealernet-hq member conflicts",
    "dealernet-hq statement DEALER-BJ",
    "dealernet-hq statement RESELLER-7",
    "dealernet-hq member statement",
    "dealernet-hq sales --partner",
    "dealernet-hq sales --by channel",
    "dealernet-hq kpi",
    "dealernet-hq referrals",
    "dealernet-hq sites",
]

# Headers the Chinese run shows (glossary: /work notes' GLOSSARY.md and
# po/zh_CN/columns.po), by section: a few named outright, so that a
# catalogue that lost them fails here even if (b)'s rule found nothing to
# compare.  Add a section's headers as they are translated.
EXPECT_ZH = {
    "dealernet-hq partner list": ["代码", "名称", "类型", "上级"],
    "dealernet-hq statement DEALER-BJ": ["账户", "期间", "币种", "期初余额", "佣金", "扣回", "期末余额"],
    "dealernet-hq statement RESELLER-7": ["推荐奖励", "期末余额"],
    "dealernet-hq member statement": ["推荐奖励", "期末余额"],
    "dealernet-hq sales --partner": ["月份", "伙伴", "销售", "合计", "已退款", "净额"],
    "dealernet-hq sales --by channel": ["渠道", "退款"],
    "dealernet-hq kpi": ["新会员", "活跃会员", "复购会员", "份额"],
    "dealernet-hq referrals": ["推荐人", "被推荐会员", "购买总额"],
    "dealernet-hq sites": ["门店", "状态", "未联系时长"],
    "dealernet-hq site list": ["已注册", "已吊销", "已入账序号"],
    "dealernet-agent reminders": ["电话", "商品编码", "依据"],
}

# Headers whose key the catalogue translates but that a program still
# prints in English (not yet through C_("column", key)), by section and
# English text: the agent's own tables, being wired in round 2 (tr-agent).
# One that shows its translation is printed as a note: take it out then.
PENDING = set()  # every header the demo prints is translated now

AMOUNT = re.compile(r"(?<![A-Za-z0-9_.:])-?[0-9]+\.[0-9]{2}(?![A-Za-z0-9_.])")
# printf conversions of a msgid, and the PRI macros as gettext writes them
CONVERSION = re.compile(r"%(?:[0-9]+\$)?[-+ #0']*(?:[0-9]+|\*)?(?:\.(?:[0-9]+|\*))?"
                        r"(?:hh|h|ll|l|j|z|t|L|q)?[diouxXeEfFgGcsp]|%<PRI\w+>")
LOG_PREFIX = re.compile(r"^dealernet-(?:agent|hq|server): (?:error|warning|info): ")
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")

passed = failed = 0


def check(name, expected, got):
    global passed, failed
    if expected == got:
        passed += 1
        print("ok   %s: %s" % (name, got))
    else:
        failed += 1
        print("FAIL %s: expected %r, got %r" % (name, expected, got))


def fail(text):
    global failed
    failed += 1
    print("FAIL " + text)


def sections(path):
    """[(command, [lines])]: the command with what differs from run to run
    (ids, addresses, folders) made a placeholder."""
    out = []
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.startswith("$ ") or line.startswith("== "):
            cmd = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<ID>", line)
            cmd = re.sub(r"tcp://\S+", "<EP>", cmd)
            cmd = re.sub(r"/tmp/\S+", "<DIR>", cmd)
            out.append((cmd[2:].strip() if line.startswith("$ ") else cmd, []))
        elif out:
            out[-1][1].append(line)
    return out


def amounts(lines):
    """The decimal amounts of lines, in order; a token of 30 characters or
    more (a key, a hash, an enrollment code) is no amount."""
    found = []
    for line in lines:
        kept = " ".join(t for t in line.split() if len(t) < 30)
        found += AMOUNT.findall(kept)
    return found


def paragraphs(lines):
    """The runs of non-empty lines."""
    out, cur = [], []
    for line in lines + [""]:
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    return out


def table_of(secs, prefix):
    hits = [lines for cmd, lines in secs if cmd.startswith(prefix)]
    return hits[0] if hits else None


def closing(secs, account_label, closing_label):
    """{account: closing} of the statements in secs, read as demo_figures
    reads them: the closing line after the account line."""
    result, cur = {}, None
    for _, lines in secs:
        for line in lines:
            words = line.split()
            if len(words) >= 2 and words[0] == account_label:
                cur = words[1]
            elif len(words) >= 2 and words[0] == closing_label and cur:
                result[cur] = words[1]
    return result


def format_regex(fmt):
    """The regex of a message format: an integer's hole a number, any
    other hole any text, the rest exact."""
    parts, pos = [], 0
    for m in CONVERSION.finditer(fmt):
        parts.append(re.escape(fmt[pos:m.start()].replace("%%", "%")))
        parts.append("(-?[0-9]+)" if m.group(0)[-1] in "diu" else "(.+?)")
        pos = m.end()
    parts.append(re.escape(fmt[pos:].replace("%%", "%")))
    return re.compile("".join(parts))


def messages(catalog):
    """[(msgid regex, msgstr regex, msgid)] of the one-line messages of the
    catalogue (no context: table headers are (b)'s rule) whose literal text
    has 4 or more letters or digits ("%s: %s" would match any line)."""
    out = []
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or "\x04" in msgid:
            continue
        one, text = msgid[:-1] if msgid.endswith("\n") else msgid, msgstr
        text = text[:-1] if text.endswith("\n") else text
        if "\n" in one or "\n" in text:
            continue
        if len(re.findall(r"[A-Za-z0-9]", CONVERSION.sub("", one))) < 4:
            continue
        out.append((format_regex(one), format_regex(text), one))
    return out


def translated_messages(en_secs, zh_secs, catalog):
    """(lines checked, [problems]): each English line that is a catalogue
    message has its translation in the same Chinese section."""
    msgs = messages(catalog)
    checked, bad = 0, []
    for (cmd, en), (_, zh) in zip(en_secs, zh_secs):
        zh_bare = [LOG_PREFIX.sub("", line) for line in zh]
        for line in en:
            bare = LOG_PREFIX.sub("", line)
            # every message the line reads as ("initialised %s" and the
            # agent's longer "initialised site %s ..." both do): shown in
            # Chinese when the translation of any of them is there
            found = [(zh_re, msgid) for en_re, zh_re, msgid in msgs if en_re.fullmatch(bare)]
            if found:
                checked += 1
                if not any(zh_re.fullmatch(z) for zh_re, _ in found for z in zh_bare):
                    bad.append("%s: %r (msgid %s) is not shown in Chinese"
                               % (cmd, line, " or ".join(repr(m) for _, m in found)))
    return checked, bad


def headers(en_par, zh_par, catalog, prefix):
    """(checked, [problems], [notes]) of one paragraph pair: the header (a
    table's first line) or each label (a label/value block's first
    column) shows the catalogue's translation of its key."""
    split = re.compile(r"\s{2,}")
    first = split.split(en_par[0].strip())[0]
    if first.islower():       # label/value block: every line's first cell
        pairs = [(split.split(e.strip())[0], split.split(z.strip())[0])
                 for e, z in zip(en_par, zh_par)]
    else:                     # a table: its header's cells
        pairs = list(zip(split.split(en_par[0].strip()), split.split(zh_par[0].strip())))
    checked, bad, notes = 0, [], []
    for en, zh in pairs:
        # dealernet-hq's headers are its results' JSON keys (dn_render
        # translates the key); the agent's listings name their own headers
        # (C_("column", "SALES"), a count in its totals), their own msgids
        key = "column\x04" + (en if prefix.startswith("dealernet-agent") else en.lower())
        want = catalog.get(key, catalog.get("column\x04" + en.lower()))
        if want is None:
            # a key the catalogue lacks shows as itself upper-cased
            # (DUPLICATE_PHONE): in the Chinese run every header holds Chinese
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", en) and not CJK.search(zh):
                bad.append("%s: header %s is shown as %r: no Chinese for it in the catalogue"
                           % (prefix, en, zh))
            continue
        checked += 1
        if zh == want:
            if (prefix, en) in PENDING:
                notes.append("note: %s: %s is shown as %s now; take it out of PENDING"
                             % (prefix, en, zh))
        elif (prefix, en) not in PENDING:
            bad.append("%s: header %s is shown as %r, not %r" % (prefix, en, zh, want))
    return checked, bad, notes


def compare(en_path, zh_path, localedir):
    en_secs, zh_secs = sections(en_path), sections(zh_path)
    mo = os.path.join(localedir, "zh_CN", "LC_MESSAGES", "dealernet.mo")
    with open(mo, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog

    # (a) the figures
    en_cmds, zh_cmds = [c for c, _ in en_secs], [c for c, _ in zh_secs]
    check("the same %d commands in the same order" % len(en_cmds), True, en_cmds == zh_cmds)
    if en_cmds != zh_cmds:
        print("     English: %s\n     Chinese: %s" % (en_cmds, zh_cmds))
    n = 0
    for (cmd, en), (_, zh) in zip(en_secs, zh_secs):
        a, b = amounts(en), amounts(zh)
        n += len(a)
        if a != b:
            fail("amounts of '%s': English %s, Chinese %s" % (cmd, a, b))
    check("amounts equal in English and Chinese, section by section", True, n > 0)
    print("     %d amounts in %d sections" % (n, len(en_secs)))
    # by hand (tests/cli/demo_figures.sh): DEALER-BJ 29.76, RESELLER-7 49.55,
    # Wang Fang 5.60
    want = {"partner:DEALER-BJ": "29.76", "partner:RESELLER-7": "49.55",
            "member:+8613800138000": "5.60"}
    check("closing balances, English", want, closing(en_secs, "account", "closing"))
    zh_account = catalog.get("column\x04account", "account")
    zh_closing = catalog.get("column\x04closing", "closing")
    check("closing balances, Chinese (%s, %s)" % (zh_account, zh_closing), want,
          closing(zh_secs, zh_account, zh_closing))
    # team volume 822.20, refunds 73.50, net 748.70; the group buy 550.00
    # (a table shows the channel as its word for people: 社群 in Chinese)
    community = catalog.get("channel\x04community", "community")
    for name, pattern, zh_pattern in (
            ("team volume", r"^2026-11 +DEALER-BJ +CNY +4 +822\.20 +2 +73\.50 +748\.70$", None),
            ("community channel", r"^community +CNY +1 +550\.00 +1 +55\.00 +495\.00$",
             r"^" + re.escape(community) + r" +CNY +1 +550\.00 +1 +55\.00 +495\.00$")):
        for lang, secs, pat in (("English", en_secs, pattern), ("Chinese", zh_secs, zh_pattern or pattern)):
            hits = sum(1 for _, lines in secs for line in lines if re.match(pat, line))
            check("%s, %s" % (name, lang), 1, hits)

    # (b) Chinese headers and messages; (c) alignment
    hdr, aligned = 0, 0
    for prefix in TABLES:
        en, zh = table_of(en_secs, prefix), table_of(zh_secs, prefix)
        if en is None or zh is None:
            fail("the demo prints no section '%s'" % prefix)
            continue
        en_pars, zh_pars = paragraphs(en), paragraphs(zh)
        if len(en_pars) != len(zh_pars):
            fail("%s: %d paragraphs in English, %d in Chinese" % (prefix, len(en_pars), len(zh_pars)))
            continue
        for en_par, zh_par in zip(en_pars, zh_pars):
            if CJK.search(en_par[0]):
                fail("%s: an English header holds Chinese: %r" % (prefix, en_par[0]))
            c, bad, notes = headers(en_par, zh_par, catalog, prefix)
            hdr += c
            for text in bad:
                fail(text)
            for text in notes:
                print(text)
            for lang, par in (("English", en_par), ("Chinese", zh_par)):
                bad, _ = table_align.problems(par)
                aligned += 1
                if bad:
                    fail("%s (%s) not aligned: %s\n%s" % (prefix, lang, "; ".join(bad),
                                                          "\n".join(par)))
        text = "\n".join(zh)
        missing = [h for h in EXPECT_ZH.get(prefix, []) if h not in text]
        check("%s: Chinese headers" % prefix, [], missing)
    check("headers and labels checked against the catalogue", True, hdr > 0)
    print("     %d headers and labels, %d tables and blocks aligned in both runs" % (hdr, aligned // 2))
    checked, bad = translated_messages(en_secs, zh_secs, catalog)
    for text in bad:
        fail(text)
    print("     %d lines of the English run are catalogue messages, %d of them not "
          "shown in Chinese" % (checked, len(bad)))


def self_test():
    """The checks catch what they are for: an amount that differs, a table
    off by a wide character, a message left in English."""
    check("self-test: amounts", ["138.30", "-1.48", "0.60"],
          amounts(["sale 138.30 CNY", "clawback  -1.48", "at 2026-11-20T10:00:01.23+08:00",
                   "v1.2.30 127.0.0.1 合计0.60元"]))
    bad, _ = table_align.problems(["名称  X", "王芳  1", "Li  2"])
    check("self-test: a row padded by bytes is caught", True, bool(bad))
    bad, _ = table_align.problems(["名称  X", "王芳  1", "Li    2"])
    check("self-test: padded by display width", [], bad)
    catalog = {"receipt %s": "小票 %s", "column\x04closing": "期末余额"}
    en = [("sale", ["receipt 0001", "dealernet-agent: error: receipt 0002"])]
    check("self-test: messages in English caught", 2, len(translated_messages(en, en, catalog)[1]))
    zh = [("sale", ["小票 0001", "dealernet-agent: error: 小票 0002"])]
    check("self-test: messages in Chinese", (2, []), translated_messages(en, zh, catalog))
    check("self-test: a header left in English caught", 1,
          len(headers(["closing  1.00"], ["closing  1.00"], catalog, "x")[1]))
    check("self-test: a header the catalogue lacks caught", 1,
          len(headers(["PHONE  DUPLICATE_PHONE", "+86  +86"],
                      ["电话  DUPLICATE_PHONE", "+86  +86"], catalog, "x")[1]))


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        compare(*sys.argv[1:4])
    print("demo_zh: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
