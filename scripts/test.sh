#!/usr/bin/env bash
# Runs the whole test suite: lint, type check, then mocha against private Postgres
# and Redis under .data/test (on ports of their own, so a running dev stack is not
# disturbed). DATABASE_URL / REDIS_URL use existing servers instead (the Postgres
# role needs CREATEDB: each test file gets a fresh database). Ends with one line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
export KLAXON_PG_PORT="${KLAXON_TEST_PG_PORT:-54339}" KLAXON_REDIS_PORT="${KLAXON_TEST_REDIS_PORT:-63809}"
use_stack .data/test
trap 'bash scripts/stack.sh stop .data/test >/dev/null 2>&1 || true' EXIT
export NODE_ENV=test

failed_checks=0
# The alert-intake end-to-end test runs a real Prometheus Alertmanager and amtool
# (Debian's prometheus-alertmanager, installed when missing).
bash scripts/stack.sh test-tools || failed_checks=$((failed_checks + 1))
echo "== lint" >&2
npm run -s lint || failed_checks=$((failed_checks + 1))   # eslint, then prettier --check
echo "== type check" >&2
npx tsc --noEmit || failed_checks=$((failed_checks + 1))

echo "== tests" >&2
log=".data/test/mocha.log"
npx mocha --color "$@" 2>&1 | tee "$log"
mocha_status=${PIPESTATUS[0]}

strip() { sed 's/\x1b\[[0-9;]*m//g' "$log"; }
passed=$(strip | grep -Eo '^ *[0-9]+ passing' | grep -Eo '[0-9]+' | tail -1)
failed=$(strip | grep -Eo '^ *[0-9]+ failing' | grep -Eo '[0-9]+' | tail -1)
passed=${passed:-0}
failed=${failed:-0}
if [[ $mocha_status -ne 0 && $failed -eq 0 ]]; then failed=1; fi # mocha crashed before counting
failed=$((failed + failed_checks))

echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
