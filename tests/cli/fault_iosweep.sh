#!/bin/sh
# fault_iosweep.sh -- runs tests/fault/dn_iosweep: the N-th SQLite write,
# sync and truncate of a small agent + server scenario fails (a shim VFS),
# then the N-th allocation, for every N; each error must surface, nothing
# may be half-applied, lost or doubled, and every file must pass
# integrity_check.  Prints one figure line per sweep.
#
# make test runs every point of every sweep (about 35 s on two processors;
# DN_IOSWEEP_ALLOC_STRIDE=K tries only every K-th allocation, for a quick
# look).  Under DN_WRAP (valgrind) one write, sync and
# truncate point in 23; the alloc sweep is skipped there (valgrind owns
# malloc).  Under AddressSanitizer only SQLite's allocations are failed.
set -u
if [ -z "${DN_FAULT:-}" ]; then
    bin=${DN_BIN:-bin}
    base=$(basename "$bin")
    DN_FAULT=$(dirname "$bin")/build${base#bin}/tests/fault
fi
prog=$DN_FAULT/dn_iosweep
if [ ! -x "$prog" ]; then
    echo "fault iosweep: no program $prog (run make build-tests; DN_FAULT names its folder)" >&2
    exit 1
fi
if [ -n "${DN_WRAP:-}" ]; then
    # shellcheck disable=SC2086 # DN_WRAP is a command and its options
    exec $DN_WRAP "$prog" --stride 23 --alloc-stride 211 --jobs 1
fi
exec "$prog" --alloc-stride "${DN_IOSWEEP_ALLOC_STRIDE:-1}"
