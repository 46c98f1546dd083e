#!/bin/sh
# hostile_fuzz.sh -- the fuzz run of `make test`: each libFuzzer target of
# tests/fuzz/ (fuzz_ingest: decode, validate and apply a SyncMessage into
# central.db; fuzz_parse: the event decoder and the clerk's text parsers)
# runs DN_FUZZ_SECS seconds (30) from its committed seeds, and any crash,
# leak, broken invariant or hang fails the test.  One figure line a target:
#   fuzz: fuzz_ingest 30 s, 412345 runs, 13745 exec/s, cov 720, corpus 300, peak RSS 390 MiB, crashes 0
#
# The targets are built by `make build-tests` into the fuzz folder beside
# the build folder that matches DN_BIN (bin -> build-fuzz, bin-X ->
# build-X-fuzz), or DN_FUZZ_B.  Skipped under valgrind: the targets carry
# their own sanitizers.  `make fuzz` runs them longer.
set -eu
if [ -n "${DN_WRAP:-}" ]; then
    echo "hostile_fuzz: skipped under $(echo "$DN_WRAP" | cut -d' ' -f1) (the fuzz" \
        "targets are address- and UB-sanitized already)"
    exit 77
fi
BIN=${DN_BIN:-bin}
bin_base=$(basename "$BIN")
FUZZ_B=${DN_FUZZ_B:-$(dirname "$BIN")/build${bin_base#bin}-fuzz}
FUZZ_B=${FUZZ_B#./}
TARGETS=$(for f in "$(dirname "$0")"/../fuzz/fuzz_*.c; do basename "$f" .c; done)
# shellcheck disable=SC2086 # one word a target
exec sh "$(dirname "$0")/../fuzz/fuzz.sh" "$FUZZ_B" "${DN_FUZZ_SECS:-30}" $TARGETS
