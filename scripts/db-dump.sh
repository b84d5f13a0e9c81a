#!/usr/bin/env bash
# Writes docs/schema.sql: the schema the migrations produce (see scripts/db/schema-dump.ts).
# On the test stack under .data/test, or on DATABASE_URL's server (a role with CREATEDB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_node_modules
export KLAXON_PG_PORT="${KLAXON_TEST_PG_PORT:-54339}" KLAXON_REDIS_PORT="${KLAXON_TEST_REDIS_PORT:-63809}"
use_stack .data/test
exec node --import tsx scripts/db/schema-dump.ts
