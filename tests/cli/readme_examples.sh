#!/bin/sh
# readme_examples.sh -- README.md's command examples print what they show.
#
# Starts a server (tests/lib/net.sh) with HQ's environment set as the README
# sets it, makes the shop's agent folder, adds the partners the examples
# name before they add their own, and lets tests/lib/readme_examples.py run
# every `$ dealernet-...` example of the README in order, comparing the
# output's shape (ids, times and digits aside), and check that --help and
# the README name the same commands, and that every message the README
# quotes is one a program prints (tests/lib/readme_messages.py).  An
# example that cannot run in a test is listed there with its reason; one
# neither run nor listed fails.  README.zh-CN.md's examples run beside
# their twins in README.md under LANG=zh_CN.UTF-8 (each against a copy of
# the agent folder as its twin finds it) and are compared the same way;
# its commands and quoted messages (English or po/zh_CN's) are checked as
# README.md's.
set -u
. tests/lib/net.sh
net_init readme_examples
net_need python3
[ -n "$WRAP" ] && { echo "readme_examples: skipped under $WRAP (shapes, not memory)"; exit 77; }
server_init
server_start
hq partner add HQ --name "Headquarters" --kind hq
check "scenario: HQ" 0 "$rc"
hq partner add REGION-N --name "North region" --kind region --parent HQ
check "scenario: REGION-N" 0 "$rc"
hq plan set deploy/plan.ini
check "scenario: the example plan" 0 "$rc"
# the shop of "Quick start", SHOP-BJ1 for DEALER-BJ
run 30 "$AGENT" -q -d "$T/shop" init --site SHOP-BJ1 --partner DEALER-BJ
check "scenario: the shop's agent" 0 "$rc"
run 30 "$AGENT" -q -d "$T/shop" catalog set RICE-5KG 59.90 --category rice
check "scenario: the shop's catalog" 0 "$rc"

export T SYNC_EP BIN
export DEALERNET_SERVER=$ADMIN_EP DEALERNET_SERVER_KEY=$KEY DEALERNET_HQ_KEY=$SRV/hq.key
export DEALERNET_AGENT_DIR=$T/shop
DN_README_TWIN=README.zh-CN.md timeout 600 python3 tests/lib/readme_examples.py
check "README examples and commands, README.zh-CN.md's examples in Chinese" 0 "$?"
# the Chinese README for shops: each example has a twin in README.md (the
# same command), the commands it names exist, the messages it quotes are
# printed by a program, in English or Chinese (readme_examples.py,
# translated())
DN_README=README.zh-CN.md DN_README_SOURCE=README.md timeout 120 python3 tests/lib/readme_examples.py
check "README.zh-CN.md examples, commands and messages" 0 "$?"
net_finish
