#!/bin/sh
# fault_checker.sh -- runs tests/fault/checker.sh: the fault tests' checker
# passes a clean network, leaves its files untouched, and reports the exact
# figures of each thing broken on purpose.
exec sh "$(dirname "$0")/../fault/checker.sh"
