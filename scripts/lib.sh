# Shared by start.sh and test.sh. Sourced, not run.

# Installs the npm dependencies when node_modules is missing or older than the lock file.
ensure_node_modules() {
  if ! command -v node >/dev/null 2>&1; then
    echo "node is not installed: install Node.js 20.19 or newer" >&2
    exit 1
  fi
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "installing npm dependencies (npm ci)..." >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

# Starts (or reuses) the private Postgres and Redis under the given data folder and
# exports DATABASE_URL and REDIS_URL; given URLs are kept and nothing is started for them.
use_stack() {
  local data_dir="$1" line
  while IFS= read -r line; do
    case "$line" in
      DATABASE_URL=*|REDIS_URL=*) export "${line?}" ;;
    esac
  done < <(bash scripts/stack.sh start "$data_dir")
  if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    echo "could not start Postgres and Redis (see the messages above)" >&2
    exit 1
  fi
}
