#!/usr/bin/env bash
# Starts the whole system in the foreground: private Postgres and Redis under
# .data/dev (installed from Debian's packages if missing), the migrations, a first
# admin token (.data/dev/admin-token, once), a secret for signing action links
# (.data/dev/link-key, once, unless NOTIFY_LINK_KEYS is set), then the API, the workers
# (WORKERS=N, default 1) and one notifier. DATABASE_URL / REDIS_URL use existing servers
# instead. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules

# The private servers go when this ends, unless KEEP_STACK=1: on Ctrl-C once the processes
# run (stop_all, below), and on any exit before they do (a server that cannot start, a
# migration refusing a setting, a Ctrl-C meanwhile), so that a start that fails leaves
# nothing running behind it.
stop_stack() {
  if [[ "${KEEP_STACK:-0}" != 1 ]]; then bash scripts/stack.sh stop .data/dev || true; fi
}
trap stop_stack EXIT
use_stack .data/dev
export NODE_ENV="${NODE_ENV:-development}"

node --import tsx src/main/migrate.ts

# A first admin token (organisation-wide), made once by the CLI and kept in a git-ignored
# file only this user may read; the token itself never reaches the terminal or a log.
admin_token_file=.data/dev/admin-token
if [[ ! -s "$admin_token_file" ]]; then
  mkdir -p "$(dirname "$admin_token_file")"
  if (umask 077 && node --import tsx src/cli/main.ts token create --name "admin (npm start)" --scopes admin --quiet >"$admin_token_file.tmp"); then
    mv "$admin_token_file.tmp" "$admin_token_file" && chmod 600 "$admin_token_file"
  else
    rm -f "$admin_token_file.tmp"
    echo "could not create an admin token (see above); make one with: npm run -s cli -- token create --help" >&2
  fi
fi
if [[ -s "$admin_token_file" ]]; then
  echo "admin token in $admin_token_file: export TOKEN=\$(cat $admin_token_file)" >&2
fi
# The secret that signs the acknowledge and resolve links of notifications, made once
# and kept like the admin token; NOTIFY_LINK_KEYS from the environment wins. The API
# (which checks the links) and the notifier (which signs them) both get it.
link_key_file=.data/dev/link-key
if [[ -z "${NOTIFY_LINK_KEYS:-}" ]]; then
  if [[ ! -s "$link_key_file" ]]; then
    (umask 077 && node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))" >"$link_key_file.tmp")
    mv "$link_key_file.tmp" "$link_key_file"
  fi
  NOTIFY_LINK_KEYS="$(cat "$link_key_file")"
  export NOTIFY_LINK_KEYS
fi

# Where this stack is, for the CLI in another terminal.
(umask 077 && printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$DATABASE_URL" "$REDIS_URL" >.data/dev/env)
echo "CLI on this stack: set -a; . .data/dev/env; set +a; npx klaxon --help" >&2

pids=()
stop_all() {
  trap - INT TERM
  echo "stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  stop_stack
}
# From here on the processes run, and stop_all stops them before the servers.
trap - EXIT
trap 'stop_all; exit 0' INT TERM

# setsid: a Ctrl-C in the terminal reaches only this script, which then sends each
# process one SIGTERM (a graceful stop); a second SIGTERM would mean "exit at once".
setsid scripts/node-process src/main/api.ts &
pids+=("$!")
# Each worker serves its metrics on its own port (9464, 9465, ...).
metrics_port="${WORKER_METRICS_PORT:-9464}"
for i in $(seq "${WORKERS:-1}"); do
  port=$((metrics_port == 0 ? 0 : metrics_port + i - 1))
  WORKER_METRICS_PORT="$port" setsid scripts/node-process src/main/worker.ts &
  pids+=("$!")
done

# One notifier (any number may run; it needs Postgres only), its metrics on 9474.
setsid scripts/node-process src/main/notifier.ts &
pids+=("$!")

# "Up" once the API listens: it warms up first (src/api/warm-up.ts, a few seconds), and
# a request sent before would be refused. Probed with bash's own /dev/tcp: no curl needed.
api_url="http://${HOST:-127.0.0.1}:${PORT:-3000}"
listening=0
for _ in $(seq 600); do
  if (exec 3<>"/dev/tcp/${HOST:-127.0.0.1}/${PORT:-3000}") 2>/dev/null; then
    listening=1
    break
  fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "the API exited while starting (its log is above)" >&2
    stop_all
    exit 1
  fi
  sleep 0.1
done
if [[ "$listening" == 1 ]]; then
  echo "klaxon is up: API, worker and notifier; API on $api_url (Ctrl-C to stop)" >&2
else
  echo "klaxon is starting: the API is not listening on $api_url after 60 s (its log is above; Ctrl-C to stop)" >&2
fi
# If any process dies, stop the others rather than run half a system.
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "a klaxon process exited with status $status" >&2
stop_all
exit "$status"
