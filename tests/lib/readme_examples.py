#!/usr/bin/env python3
"""readme_examples.py -- the README's command examples, run and compared.

Used by tests/cli/readme_examples.sh, which starts a server (tests/lib/net.sh)
and exports the environment named below.  Stdlib only.

An *example* is a line of a fenced block of README.md that starts with
`$ dealernet-`; the lines after it, up to the next `$ ` line or the end of
the block, are its output (stdout and stderr, in that order).  Each example
is either run here, in README order, in one scenario built like the
README's names (partners HQ, REGION-N, DEALER-BJ, RESELLER-7; sites SHOP-BJ1
and GROUP-7; the shop's agent folder as $DEALERNET_AGENT_DIR), or listed in
NOT_RUN with the reason it cannot run in a test.  An example that is neither
fails the test, so a new one cannot be forgotten; so does a NOT_RUN entry
that no longer names an example.

Output is compared by SHAPE (see shape()): ids, times, keys, hashes,
enrollment codes, paths, endpoints and digits become placeholders, and runs
of spaces one space; words, punctuation, column headers and the number of
lines must match.  In the README, `…` stands for characters or, alone on a
line, for any number of lines.

Every error, warning and log message the README quotes is one a program
can print: tests/lib/readme_messages.py (its rule is there), run here.

Two more checks keep the command lists honest: every command each program's
--help lists is named in the README, and every `dealernet-PROG WORD [WORD]`
the README names is a command (`PROG WORD [WORD] --help` exits 0).

A translation of the README (README.zh-CN.md) is checked twice.  With
DN_README_TWIN=README.zh-CN.md, README.md's run runs each of its examples
too, under LANG=zh_CN.UTF-8, just before the example of README.md it
translates (its twin: twins()), in the same state (a copy of the agent
folder: run_twin()), and compares the output by shape as README.md's; an
example whose twin is in NOT_RUN is not run either.  With
DN_README=README.zh-CN.md DN_README_SOURCE=README.md: each example has a
twin, the commands it names exist, the messages it quotes are printed (in
English or as po/zh_CN translates them): see translated().

Environment: DN_README (README.md), DN_README_SOURCE, DN_README_TWIN, BIN (programs),
T (scratch folder),
DEALERNET_SERVER, DEALERNET_SERVER_KEY, DEALERNET_HQ_KEY, DEALERNET_AGENT_DIR,
SYNC_EP.
"""
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_messages  # noqa: E402  (beside this file)

# Examples that cannot run in a test, by their command (the text after `$ `;
# "COMMAND #N": its Nth example only).
# A reason says what the example needs that a test run does not have.
NOT_RUN = {
    "dealernet-hq member find '138 0013'":
        "needs members signed up at a shop and synced; the README's shop enrolls "
        "only later (Enrolling a site).  cli/hq_counter runs it against a real "
        "network and checks each line",
    "dealernet-hq member find li --limit 1":
        "as member find '138 0013': cli/hq_counter checks the lines of --limit",
    "dealernet-hq plan set demo-cn.ini":
        "needs deploy/plan.ini with compliance = cn-direct-selling added, as "
        "demo-cn.ini; cli/hq_comply sets it and checks the refusal and exit 65",
    "dealernet-hq compliance --period 2026-03":
        "needs resellers G1 and G2, members M1 and M2 and their sales of "
        "2026-03 on a pinned clock; cli/hq_comply checks every figure",
    "dealernet-agent member show 13900139000":
        "needs Li Lei signed up at another shop, referring a member who bought "
        "there, synced; the README's shop enrolls only later (Enrolling a "
        "site).  cli/agent_earnings runs it against a real network and checks "
        "the credit to the fen",
    "dealernet-agent earnings #1":
        "needs DEALER-BJ's sales, referrals, a clawback and a payout synced; "
        "the README's shop enrolls only later (Enrolling a site).  "
        "cli/agent_earnings checks every figure against 'dealernet-hq statement'",
    "dealernet-agent recover --dry-run": "an agent.db restored from an old copy of a shop of "
        "120 events; cli/agent_recover checks each message of recover",
    "dealernet-agent recover": "an agent.db restored from an old copy of a shop of 120 "
        "events; cli/agent_recover checks each message of recover",
    "dealernet-agent doctor": "an enrolled shop whose clock is a day ahead (the README's shop "
        "enrolls later); cli/sync_doctor checks each line of each diagnosis",
    "dealernet-server -d /var/lib/dealernet-server init --sync tcp://*:7700 --admin tcp://*:7701":
        "binds the public ports 7700/7701 and writes /var/lib (root); "
        "the test's own server is made the same way on loopback",
    "dealernet-agent enroll":
        "reads the code from a hidden prompt on a terminal; the scenario "
        "enrolls with --bundle-file",
    "dealernet-agent enroll --server tcp://hq.example.com:7700 --server-key '…' --token 7ccfdbde533fc1c74fcf78be3f21156e":
        "the README elides the key; the refusal is tested by cli/enroll_secrets",
    "dealernet-agent enroll DN1:GXRj…":
        "the README elides the code; the refusal is tested by cli/enroll_secrets",
    "dealernet-agent server set tcp://hq2.example.com:7700 --server-key 'i@B>Nlcm2#Wx%Tzg7mi[cv7+8d8^UL^O<0W}T0fl'":
        "moves an enrolled folder, and the README's shop enrolls only later "
        "(Enrolling a site); a site added for it here would show in the site "
        "list example.  cli/server_move runs it and checks each message",
    "dealernet-agent status":
        "shows the partner_mismatch of SHOP5 (initialised for D2), the "
        "scenario of cli/server_facts",
    "dealernet-agent member list":
        "members with names of every width (王芳, Zoë decomposed, 陈👍🏽, 25 "
        "Chinese characters) at a shop of its own: cli/display_width runs it "
        "and checks the alignment and the cut",
    "dealernet-hq referrals --csv":
        "a member named =HYPERLINK(...): the scenario of cli/safe_output",
    "dealernet-hq exceptions":
        "clock_ahead and out-of-tree sellers from a shop clock in 2199: the "
        "scenario of cli/server_facts (faketime)",
    "dealernet-hq exception resolve 3 --post --seller DEALER-BJ --reason \"rung up under the wrong code\"":
        "exception 3 of the server_facts scenario",
    "dealernet-hq refusals":
        "counts of a server that refused an HQ key on its sync port "
        "(cli/security_door)",
    "dealernet-hq plan check plan-june.ini":
        "plan-june.ini is described, not shipped",
    "dealernet-hq plan retire 2026-06-01":
        "needs a version effective 2026-06-01 no sale falls under",
    "dealernet-hq period close 2026-11          # on 2026-11-24":
        "needs the server's clock on 2026-11-24 (hq_ledger_cli pins it)",
    "dealernet-hq sale void 01a20fbe-b04a-74ca-8abf-b1afb5260e9f --reason \"group buy recorded twice; see receipt 88\"":
        "the group buy of the demo's worked example (cli/demo_figures, "
        "cli/hq_ledger_cli)",
    "dealernet-hq sale 01a20fbe-b04a-74ca-8abf-b1afb5260e9f":
        "the group buy of the demo's worked example; cli/hq_drill builds that "
        "network and checks every figure of its drill-down to the fen",
    "dealernet-hq sales list --partner DEALER-BJ --limit 2":
        "the demo's four sales; cli/hq_drill lists them and checks each filter",
    "dealernet-hq verify":
        "the second example is a failing disk (cli/fault_iosweep)",
    "dealernet-hq sales":
        "the nine sales of tests/unit/test_report.c (D1, G1 ...)",
    "dealernet-hq sales --by category": "the scenario of tests/unit/test_report.c",
    "dealernet-hq sales --by channel --from 2026-02-01 --to 2026-03-31":
        "the scenario of tests/unit/test_report.c",
    "dealernet-hq sales --partner D1 --team": "the scenario of tests/unit/test_report.c",
    "dealernet-hq sales --partner D2 --team --json": "the scenario of tests/unit/test_report.c",
    "dealernet-hq kpi --period 2026-02": "the scenario of tests/unit/test_report.c",
    "dealernet-hq sales --by partner --team --from 2026-11-01 --to 2026-11-24":
        "the scenario of tests/unit/test_webpage.c",
    "dealernet-hq earnings --period 2026-11": "the scenario of tests/unit/test_webpage.c",
    "dealernet-hq kpi --partner G1 --period 2026-01 --csv":
        "the scenario of tests/unit/test_report.c",
    "dealernet-hq referrals": "the scenario of tests/unit/test_report.c",
    "dealernet-hq referrals --member +8613900000001": "the scenario of tests/unit/test_report.c",
    "dealernet-hq sites          # at 2026-11-24T23:01:51Z":
        "silent and revoked sites over 86 days: tests/unit/test_report.c",
    "dealernet-hq partner add G9 --name \"$(printf 'Li\\342\\201\\246Wei')\" --kind reseller --parent D1":
        "partner D1 of another scenario (cli/safe_output)",
    "dealernet-hq statement RESELLER-7":
        "the statement after the demo's void (cli/demo_figures checks its "
        "figures); the first one is run",
    "dealernet-hq corrections": "the corrections of the demo's void",
    "dealernet-hq adjust DEALER-BJ -12.50 --reason \"double commission on receipt 41\"":
        "the balance after the demo's void",
    "dealernet-hq payout run --period 2026-10 --min 100.00":
        "needs October 2026 closed with five dealers' balances, a payout and a "
        "suspension on a pinned clock: the scenario of cli/hq_payrun, which "
        "checks every line of both examples",
    "dealernet-hq payout run --period 2026-10 --min 50.00":
        "run 1 of cli/hq_payrun proposed (it checks the refusal)",
    "dealernet-hq payout approve 1":
        "run 1 of cli/hq_payrun, with DEALER-BJ's balance lowered then mended "
        "(it checks each of the three examples)",
    "dealernet-hq payout export 1 --format generic":
        "run 1 of cli/hq_payrun approved (it checks the file byte for byte)",
}

# Shell run before the example with this command (in the example's
# environment), to bring the scenario to the state the README shows;
# "COMMAND #N": before its Nth example only.
BEFORE = {
    # the first of "Syncing"'s two syncs delivers events, the second none
    "dealernet-agent sync #1": [
        'dealernet-agent -q sale --line TEA:1@20.00 >/dev/null',
        'dealernet-agent -q sale --line TEA:2@20.00 >/dev/null',
    ],
    "dealernet-hq site list": [
        'dealernet-hq -q partner add RESELLER-7 --name "Group leader Li" --kind reseller --parent DEALER-BJ',
        'dealernet-hq -q site add SHOP-BJ1 --partner DEALER-BJ >"$T/shop.code"',
        'dealernet-hq -q site add GROUP-7 --partner RESELLER-7 >"$T/group.code"',
        'dealernet-agent -q -d "$T/group" init --site GROUP-7 --partner RESELLER-7',
        'dealernet-agent -q -d "$T/group" sale --line TEA:1@20.00 >/dev/null',
        'dealernet-agent -q enroll --bundle-file "$T/shop.code"',
        'dealernet-agent -q -d "$T/group" enroll --bundle-file "$T/group.code"',
        'dealernet-agent -q sync',
        'dealernet-agent -q -d "$T/group" sync',
    ],
    "dealernet-agent member add --phone 013800138000": [
        'dealernet-agent -q member add --phone "+86 138-0013-8000" --name "Wang Fang" --household 4 >/dev/null',
    ],
    # the import examples run in a folder of their own (their sales name
    # partners of the README's import scenario, not of this one), on the
    # README's own pos.csv
    "dealernet-agent catalog set TEA 12.50": [
        'dealernet-agent -q -d "$T/pos" init --site POS-1 --partner DEALER-BJ',
        "awk '/^```/ { if (b) exit; next } /^kind,ref,/ { b = 1 } b' "
        '"${DN_README:-README.md}" >"$T/pos.csv"',
        "awk '/^```/ { if (b) exit; next } /^kind,ref,sale_ref,/ { b = 1 } b' "
        '"${DN_README:-README.md}" >"$T/pos2.csv"',
    ],
    # the catalogue import examples import the README's own prices.csv
    "dealernet-hq catalog import prices.csv #1": [
        "awk '/^```/ { if (b) exit; next } /^sku,name,category,price,effective,/ { b = 1 } b' "
        '"${DN_README:-README.md}" >"$T/prices.csv"',
    ],
    # "Notices" (the README's last examples): DEALER-BJ moves into a region
    # R-EAST, so that the notice to R-EAST reaches the shop with its two
    # sites beside it (SHOP-BJ2, GROUP-7); the shop syncs both notices in
    # before it lists them
    "dealernet-hq notice send --partner R-EAST $'下周一起全部门店价格调整\\n请提前通知会员'": [
        'dealernet-hq -q partner add R-EAST --name "East region" --kind region --parent HQ',
        'dealernet-hq -q partner move DEALER-BJ --parent R-EAST',
    ],
    "dealernet-agent notices": ['dealernet-agent -q sync'],
    "dealernet-hq payout DEALER-BJ 20.00 --ref \"ICBC 2026-11-30 #4471\"": [
        'dealernet-hq -q adjust DEALER-BJ 40.00 --reason "for the payout example"',
        'dealernet-hq -q payout DEALER-BJ 20.00 --ref "ICBC 2026-11-30 #4471"',
    ],
}

# Examples run as another command: the README's site is added by an earlier
# example's scenario, so this one adds a second site whose code has the same
# shape (digits are placeholders); --qr draws the QR code a terminal shows
# unasked (the test's stdout is a pipe); the import examples use a folder
# and a pos.csv of their own.
RUN_AS = {
    "dealernet-agent catalog set TEA 12.50": 'dealernet-agent -d "$T/pos" catalog set TEA 12.50',
    "dealernet-agent import pos.csv": 'dealernet-agent -d "$T/pos" import "$T/pos.csv"',
    "dealernet-agent import pos.csv --json": 'dealernet-agent -d "$T/pos" import "$T/pos.csv" --json',
    "dealernet-agent import pos2.csv": 'dealernet-agent -d "$T/pos" import "$T/pos2.csv"',
    "dealernet-agent export --unsynced /media/usb/unsynced.csv":
        'dealernet-agent -d "$T/pos" export --unsynced "$T/unsynced.csv"',
    "dealernet-hq site add SHOP-BJ1 --partner DEALER-BJ":
        "dealernet-hq site add SHOP-BJ2 --partner DEALER-BJ --qr",
    "dealernet-hq catalog import prices.csv": 'dealernet-hq catalog import "$T/prices.csv"',
    # sh has no $'...': the same two lines through printf
    "dealernet-hq notice send --partner R-EAST $'下周一起全部门店价格调整\\n请提前通知会员'":
        "dealernet-hq notice send --partner R-EAST "
        "\"$(printf '下周一起全部门店价格调整\\n请提前通知会员')\"",
}

# `dealernet-PROG WORD` in the README that are not commands, and why.
NOT_COMMANDS = {
    ("dealernet-agent", "clerk"): "the group in 'usermod -aG dealernet-agent clerk'",
    ("dealernet-hq", "pointed"): "prose in a log line: 'is dealernet-hq pointed at ...'",
    ("dealernet-server", "running"): "prose in a message: 'is dealernet-server running there?'",
}

PLACEHOLDERS = [
    (re.compile(r"DN1:[A-Za-z0-9_\-…]+"), "<CODE>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<ID>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<HASH>"),
    (re.compile(r"(key: *)\S{40}"), r"\1<KEY>"),
    (re.compile(r"tcp://[^\s,;)]+"), "<EP>"),
    (re.compile(r"(?<![\w.])/(?:[\w.+-]+/)*[\w.+-]+"), "<PATH>"),
    (re.compile(r"\d+"), "9"),
    (re.compile(r"[ \t]+"), " "),
]


def shape(line):
    """The line with what differs from run to run made a placeholder."""
    for pattern, repl in PLACEHOLDERS:
        line = pattern.sub(repl, line)
    return line.strip()


def examples(readme):
    """[(line number, command, [expected lines])] in README order."""
    found, block, current = [], False, None
    for no, line in enumerate(open(readme, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("```"):
            block, current = not block, None
            continue
        if not block:
            continue
        if line.startswith("$ "):
            current = None
            if line.startswith("$ dealernet-"):
                current = (no, line[2:], [])
                found.append(current)
        elif current is not None:
            current[2].append(line)
    return found


def matches(expected, actual):
    """Whether actual lines have the shape of expected ones (… elides)."""
    exp = [shape(line) for line in expected]
    act = [shape(line) for line in actual]

    def line_ok(e, a):
        parts = [re.escape(p) for p in e.split("…")]
        return re.fullmatch(".*".join(parts), a) is not None

    def walk(i, j):
        if i == len(exp):
            return j == len(act)
        if exp[i] == "…":
            return any(walk(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and line_ok(exp[i], act[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


def twins(ours, theirs, fail, name):
    """[(our example, index of its twin in theirs or None)]: each example of
    a translation (ours) paired with the source's example it translates
    (theirs), the one with the same command (by shape()); of several, the
    Nth of ours with a command is the Nth of theirs where both have as many,
    else the one with as many output lines."""
    result, seen = [], {}
    for ex in ours:
        no, cmd, expected = ex
        same = [i for i, (_, c, _) in enumerate(theirs) if shape(c) == shape(cmd)]
        ordinal = seen[shape(cmd)] = seen.get(shape(cmd), 0) + 1
        if len(same) == sum(1 for _, c, _ in ours if shape(c) == shape(cmd)):
            same = [same[ordinal - 1]]
        elif len(same) > 1:
            same = [i for i in same if len(theirs[i][2]) == len(expected)]
        if len(same) != 1:
            fail("%s:%d %s: %s of the source's examples have this command and "
                 "can be its twin" % (name, no, cmd, len(same) or "none"))
            result.append((ex, None))
        else:
            result.append((ex, same[0]))
    return result


def zh_env(env, folder):
    """The environment of a Chinese twin: the language of a shop clerk's
    LANG=zh_CN.UTF-8, the agent folder a copy (FOLDER)."""
    zh = dict(env)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        zh.pop(name, None)
    zh["LANG"] = "zh_CN.UTF-8"
    zh["DEALERNET_AGENT_DIR"] = folder
    return zh


def run_twin(twin_name, ex, command, env, fail):
    """Runs the translation's example EX as COMMAND (its twin's run) under
    LANG=zh_CN.UTF-8 against a copy of the agent folder as it is now: the
    same state as the twin's, the same effect on the copy, the words of the
    translation.  The copy keeps the scenario's own folder for the twin,
    which runs next.  Returns whether it ran."""
    no, cmd, expected = ex
    if re.search(r"(^|\s)-d\s", command):
        # a folder of its own (the import examples): no copy isolates it
        fail("%s:%d %s: runs as '%s', in a folder the twin's run changes"
             % (twin_name, no, cmd, command))
        return False
    folder = os.path.join(env["T"], "zh-%d" % no)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(env["DEALERNET_AGENT_DIR"], folder, symlinks=True)
    rc, actual = run(command, zh_env(env, folder))
    if matches(expected, actual):
        print("ok   %s:%d %s (LANG=zh_CN.UTF-8)" % (twin_name, no, cmd))
    else:
        fail("%s:%d %s: the output under LANG=zh_CN.UTF-8 differs in shape"
             % (twin_name, no, cmd))
        print("  %s:\n" % twin_name + "\n".join("    | " + line for line in expected))
        print("  program (exit %d):\n" % rc + "\n".join("    | " + line for line in actual))
    return True


def run(command, env):
    p = subprocess.run(["sh", "-c", command], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    return p.returncode, out.splitlines()


def help_checks(readme_text, env, fail):
    """Every command of every --help is named in the README; every command
    the README names exists (named_checks)."""
    checked = 0
    for prog in ("dealernet-agent", "dealernet-hq", "dealernet-server"):
        rc, lines = run(prog + " --help", env)
        if rc != 0:
            fail("%s --help exits %d" % (prog, rc))
            continue
        names, listing = [], False
        for line in lines:
            if line.startswith("commands:"):
                listing = True
            elif listing and re.match(r"  [a-z]", line):
                name = re.match(r"  ([a-z]+(?: [a-z]+)?)(?:  | |$)", line).group(1)
                words = name.split()
                # a second word is a subcommand only where the README shows
                # the pair (`member add`), not an option's value
                names.append(name if len(words) == 1 or not words[1].isupper() else words[0])
        if not names:
            fail("%s --help lists no commands" % prog)
        for name in names:
            checked += 1
            pat = r"(%s(?: -{1,2}\S+(?: [A-Z]\S*)?)* %s\b)|(`%s[ `])" % (
                re.escape(prog), re.escape(name), re.escape(name))
            if not re.search(pat, readme_text):
                fail("%s %s: listed by --help, named nowhere in the README" % (prog, name))
    return checked + named_checks(readme_text, env, fail)


def named_checks(readme_text, env, fail):
    """Every command the README names exists."""
    checked = 0
    named = set()
    skip_opts = {"-d": 1, "-q": 0, "-v": 0, "--server": 1, "--server-key": 1,
                 "--key": 1, "--timeout": 1}
    for m in re.finditer(r"dealernet-(agent|hq|server)((?: [^\s`|]+){1,6})", readme_text):
        prog, words = "dealernet-" + m.group(1), m.group(2).split()
        while words and (words[0] in skip_opts or words[0].startswith("[")):
            n = skip_opts.get(words[0], 0)
            words = words[1 + n:]
        if not words or not re.fullmatch(r"[a-z]+", words[0]):
            continue
        cmd = [words[0]]
        if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]):
            cmd.append(words[1])
        if (prog, cmd[0]) not in NOT_COMMANDS:
            named.add((prog, tuple(cmd)))
    for prog, cmd in sorted(named):
        checked += 1
        rc, _ = run("%s %s --help" % (prog, " ".join(cmd)), env)
        if rc != 0 and len(cmd) == 2:  # `sync once`: the second word is prose
            rc, _ = run("%s %s --help" % (prog, cmd[0]), env)
        if rc != 0:
            fail("the README names '%s %s', but '%s %s --help' exits %d"
                 % (prog, " ".join(cmd), prog, " ".join(cmd), rc))
    return checked


def translated(readme, source, env, fail, failures):
    """The checks of a translation of the README (DN_README_SOURCE, the
    README it translates) that need no run: each `$ dealernet-` example has a
    twin among the source's (twins()) with as many output lines (`…` aside);
    every command it names exists; every message it quotes is one a program
    prints in English or, as translated in po/zh_CN, in Chinese
    (readme_messages).  Its examples are run beside their twins, under
    LANG=zh_CN.UTF-8, by the source's run (main(), DN_README_TWIN)."""
    ours, theirs = examples(readme), examples(source)
    for (no, cmd, expected), i in twins(ours, theirs, fail, readme):
        if i is None:
            continue
        tno, _, out = theirs[i]
        if "…" in expected + out or len(expected) == len(out):
            print("ok   %s:%d %s: twin of %s:%d" % (readme, no, cmd, source, tno))
        else:
            fail("%s:%d %s: %d output lines, its twin %s:%d %d"
                 % (readme, no, cmd, len(expected), source, tno, len(out)))
    checked = named_checks(open(readme, encoding="utf-8").read(), env, fail)
    quoted, missing = readme_messages.check(readme, os.getcwd(), fail, stale=False,
                                            lang="zh_CN")
    print("%s: %d examples with a twin in %s, %d commands checked, %d quoted messages "
          "checked, %d failures" % (readme, len(ours), source, checked, quoted,
                                     len(failures)))
    return 1 if failures else 0


def main():
    readme = os.environ.get("DN_README", "README.md")
    env = dict(os.environ)
    env["PATH"] = env["BIN"] + os.pathsep + env.get("PATH", "")
    failures = []

    def fail(text):
        failures.append(text)
        print("FAIL " + text)

    source = os.environ.get("DN_README_SOURCE")
    if source:
        return translated(readme, source, env, fail, failures)

    found = examples(readme)
    commands = {cmd for _, cmd, _ in found}
    nth = {"%s #%d" % (cmd, n) for cmd in commands
           for n in range(1, 1 + sum(1 for _, c, _ in found if c == cmd))}
    for table in (NOT_RUN, BEFORE, RUN_AS):
        for cmd in sorted(set(table) - commands - nth):
            fail("an entry names no README example: %s" % cmd)
    # the translation's examples (DN_README_TWIN, README.zh-CN.md), each run
    # under LANG=zh_CN.UTF-8 just before its twin here, or not run with it
    twin_name = os.environ.get("DN_README_TWIN")
    by_twin = {}
    if twin_name:
        for ex, i in twins(examples(twin_name), found, fail, twin_name):
            if i is not None:  # a failure already
                by_twin.setdefault(i, []).append(ex)
    zh_ran = zh_listed = 0
    ran = listed = 0
    seen = {}
    for index, (no, cmd, expected) in enumerate(found):
        seen[cmd] = seen.get(cmd, 0) + 1
        why = NOT_RUN.get(cmd, NOT_RUN.get("%s #%d" % (cmd, seen[cmd])))
        if why is not None:
            listed += 1
            print("skip README:%d %s (%s)" % (no, cmd, why))
            for zno, zcmd, _ in by_twin.get(index, []):
                zh_listed += 1
                print("skip %s:%d %s (its twin README:%d is not run)"
                      % (twin_name, zno, zcmd, no))
            continue
        for setup in BEFORE.get(cmd, []) + BEFORE.get("%s #%d" % (cmd, seen[cmd]), []):
            rc, out = run(setup, env)
            if rc != 0:
                fail("README:%d setup '%s' exits %d: %s" % (no, setup, rc, " | ".join(out)))
        for ex in by_twin.get(index, []):
            zh_ran += run_twin(twin_name, ex, RUN_AS.get(cmd, cmd), env, fail)
        rc, actual = run(RUN_AS.get(cmd, cmd), env)
        ran += 1
        if matches(expected, actual):
            print("ok   README:%d %s" % (no, cmd))
        else:
            fail("README:%d %s: the output differs in shape" % (no, cmd))
            print("  README:\n" + "\n".join("    | " + line for line in expected))
            print("  program (exit %d):\n" % rc + "\n".join("    | " + line for line in actual))
    checked = help_checks(open(readme, encoding="utf-8").read(), env, fail)
    quoted, missing = readme_messages.check(readme, os.getcwd(),  # the sources: the tree run in
                                            fail)
    print("readme: %d quoted messages checked, %d not found" % (quoted, missing))
    if twin_name:
        print("%s: %d examples, %d run under LANG=zh_CN.UTF-8, %d not run (their twin is "
              "listed as not runnable)" % (twin_name, sum(map(len, by_twin.values())),
                                           zh_ran, zh_listed))
    print("readme: %d examples, %d run, %d listed as not runnable, %d commands checked, "
          "%d failures" % (len(found), ran, listed, checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
