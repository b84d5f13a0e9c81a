#!/usr/bin/env bash
# Private Postgres + Redis on loopback for klaxon development and tests.
#
#   scripts/stack.sh install                # make sure the server binaries exist
#   scripts/stack.sh test-tools             # and the tools only tests use (prometheus-alertmanager, amtool)
#   scripts/stack.sh start  [data-dir]      # start (or reuse); prints DATABASE_URL=… / REDIS_URL=…
#   scripts/stack.sh stop   [data-dir]      # stop whatever runs from data-dir (idempotent)
#   scripts/stack.sh status [data-dir]      # say what is running
#   scripts/stack.sh reset  [data-dir]      # stop, then delete data-dir (must be under <repo>/.data/)
#
# data-dir defaults to <repo>/.data/dev; relative paths are relative to the repo root.
# Env: KLAXON_PG_PORT (default 54329), KLAXON_REDIS_PORT (default 63799) so dev and test stacks
# can run side by side. DATABASE_URL / REDIS_URL, when set, replace the corresponding private
# service entirely for install/start (start then just echoes them back).
# KLAXON_PG_SETTINGS: extra server settings, `name=value` separated by spaces (e.g.
# "track_commit_timestamp=on"), given to Postgres as -c options when start launches it; a
# server already running keeps the settings it was started with (stop it first).
#
# Only the two URL lines of `start` go to stdout (everything else goes to stderr), so callers
# can read them line by line (see scripts/lib.sh), or `eval "$(scripts/stack.sh start …)"` as
# long as an overriding URL holds no shell metacharacters. `source scripts/stack.sh start …`
# exports both.

# Sourced instead of executed: don't leak `set -euo pipefail` or `exit` into the caller's
# shell. Run ourselves as a child and, for `start`, export the URLs it prints.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  if [[ "${1:-}" == start ]]; then
    while IFS= read -r __klaxon_line; do
      case "$__klaxon_line" in DATABASE_URL=*|REDIS_URL=*) export "${__klaxon_line?}" ;; esac
    done < <(bash "${BASH_SOURCE[0]}" "$@")
    unset __klaxon_line
  else
    bash "${BASH_SOURCE[0]}" "$@"
  fi
  return
fi

set -euo pipefail

SCRIPT_DIR="$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -P "$SCRIPT_DIR/.." && pwd)"

PG_PORT="${KLAXON_PG_PORT:-54329}"
REDIS_PORT="${KLAXON_REDIS_PORT:-63799}"
WAIT_SECONDS=30
# Unprivileged OS user we create for Postgres when running as root and no `postgres` user exists.
FALLBACK_DB_USER=klaxon-db

APT_UPDATED=0
PG_BIN=""        # directory holding initdb/pg_ctl/postgres (chosen by find_pg_bin)
OUT_DATABASE_URL=""
OUT_REDIS_URL=""

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

usage() {
  # The header comment of this file, minus the shebang.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
}

# kill -0 succeeds for zombies too; treat those as dead.
pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/stat" ]] || return 0
  [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]
}

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }

# KLAXON_PG_SETTINGS as postgres command-line options (" -c name=value" each), checked here:
# they end up inside pg_ctl's /bin/sh command line, so only plain names and values pass.
pg_extra_options() {
  local setting out="" settings=()
  read -ra settings <<< "${KLAXON_PG_SETTINGS:-}"
  for setting in "${settings[@]}"; do
    [[ "$setting" =~ ^[a-z_][a-z0-9_.]*=[A-Za-z0-9_.:+-]+$ ]] ||
      die "KLAXON_PG_SETTINGS: \"$setting\" is not name=value (letters, digits, _ . : + - only)"
    out+=" -c $setting"
  done
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

resolve_data_dir() {
  local arg="${1:-.data/dev}"
  [[ "$arg" == /* ]] || arg="$REPO_ROOT/$arg"
  # Canonical (symlinks resolved) so the reset sanity check can't be fooled by `..` or links.
  DATA_DIR="$(realpath -m -- "$arg")"
  # These paths end up inside pg_ctl's /bin/sh command line and redis.conf; refuse characters
  # that would need escaping there rather than half-supporting them.
  [[ "$DATA_DIR" != *[\'\"\$\`\\]* ]] || die "data dir must not contain quotes, \$, \` or \\: $DATA_DIR"
  [[ "$DATA_DIR" != / ]] || die "refusing to use / as data dir"

  PG_DATA="$DATA_DIR/pg"
  PG_LOG="$DATA_DIR/pg.log"
  REDIS_DIR="$DATA_DIR/redis"
  REDIS_CONF="$REDIS_DIR/redis.conf"
  REDIS_PIDFILE="$REDIS_DIR/redis.pid"

  # Unix socket paths are limited (~107 bytes incl. the .s.PGSQL.<port> name). For deep checkouts
  # fall back to a per-data-dir directory in /tmp; clients here use TCP anyway.
  PG_SOCKET_DIR="$DATA_DIR/pg-socket"
  local sock="$PG_SOCKET_DIR/.s.PGSQL.$PG_PORT"
  if (( ${#sock} >= 100 )); then
    PG_SOCKET_DIR="/tmp/klaxon-pg-$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Binaries / install
# ---------------------------------------------------------------------------------------------

pg_major_of() { # bin-dir -> major version, e.g. 15
  "$1/pg_ctl" --version 2>/dev/null | awk '{print $3}' | cut -d. -f1
}

# Pick a directory with initdb+pg_ctl+postgres. They must share one directory because pg_ctl
# looks for `postgres` next to itself, not on PATH. PATH wins (explicit user choice), then the
# highest /usr/lib/postgresql/*/bin. With $1 (the data dir's PG_VERSION) only that major fits.
find_pg_bin() {
  local want="${1:-}" d p
  local candidates=()
  if p="$(command -v pg_ctl 2>/dev/null)"; then
    candidates+=("$(dirname "$(readlink -f "$p")")")
  fi
  while IFS= read -r d; do candidates+=("$d"); done < <(
    for d in /usr/lib/postgresql/*/bin; do [[ -d "$d" ]] && printf '%s\n' "$d"; done | sort -V -r
  )
  for d in "${candidates[@]}"; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] || continue
    if [[ -z "$want" || "$(pg_major_of "$d")" == "$want" ]]; then
      PG_BIN="$d"
      return 0
    fi
  done
  return 1
}

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

apt_install() {
  local sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

cmd_install() {
  local problems=()
  local has_apt=0
  command -v apt-get >/dev/null 2>&1 && has_apt=1

  if [[ -n "${DATABASE_URL:-}" ]]; then
    log "DATABASE_URL is set: skipping private Postgres"
  elif ! find_pg_bin; then
    if (( has_apt )); then
      # Debian's package also creates and starts a system cluster on 5432; harmless, unused.
      apt_install postgresql
      find_pg_bin || die "postgresql installed but initdb/pg_ctl/postgres still not found"
    else
      problems+=("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin and apt-get is not available: install PostgreSQL 14+ server or set DATABASE_URL")
    fi
  fi
  [[ -n "$PG_BIN" ]] && log "postgres: $PG_BIN (PostgreSQL $(pg_major_of "$PG_BIN"))"

  if [[ -n "${REDIS_URL:-}" ]]; then
    log "REDIS_URL is set: skipping private Redis"
  elif ! have_redis; then
    if (( has_apt )); then
      apt_install redis-server   # pulls in redis-tools (redis-cli)
      have_redis || die "redis-server installed but redis-server/redis-cli still not found"
    else
      local what=redis-server
      command -v redis-server >/dev/null 2>&1 && what=redis-cli
      problems+=("$what not found and apt-get is not available: install Redis 6.2+ or set REDIS_URL")
    fi
  fi
  if [[ -z "${REDIS_URL:-}" ]] && have_redis; then
    local v
    v="$(redis-server --version | sed -n 's/.*v=\([0-9][0-9.]*\).*/\1/p')"
    log "redis: $(command -v redis-server) (Redis $v)"
    if [[ -n "$v" && "$(printf '%s\n6.2\n' "$v" | sort -V | head -1)" != 6.2 ]]; then
      log "warning: Redis $v is older than 6.2, which klaxon expects"
    fi
  fi

  if (( ${#problems[@]} )); then
    local m
    for m in "${problems[@]}"; do log "error: $m"; done
    exit 1
  fi
}

have_alertmanager() { command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; }

# The alert-intake end-to-end test (test/intake/alertmanager-e2e.test.ts) runs a real
# Prometheus Alertmanager and its amtool; Debian's prometheus-alertmanager has both. The test
# starts its own on a free loopback port: the package's system service is not needed, and
# where systemd started it on install (ports 9093 and 9094) it is stopped and disabled again.
cmd_test_tools() {
  have_alertmanager && { log "alertmanager: $(command -v prometheus-alertmanager), $(command -v amtool)"; return 0; }
  command -v apt-get >/dev/null 2>&1 ||
    die "prometheus-alertmanager/amtool not found and apt-get is not available: install Prometheus Alertmanager 0.25+ (both binaries on PATH)"
  apt_install prometheus-alertmanager
  have_alertmanager || die "prometheus-alertmanager installed but prometheus-alertmanager/amtool still not found"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    local sudo=()
    [[ $EUID -ne 0 ]] && sudo=(sudo)
    "${sudo[@]}" systemctl disable --now prometheus-alertmanager >&2 || log "warning: could not stop the prometheus-alertmanager service (the tests do not use it)"
  fi
  log "alertmanager: $(command -v prometheus-alertmanager), $(command -v amtool)"
}

# ---------------------------------------------------------------------------------------------
# Running Postgres as an unprivileged user
# ---------------------------------------------------------------------------------------------

# Postgres refuses to run as root. As root we use the `postgres` system user if present, else a
# dedicated system user; as a normal user we simply run as ourselves. An existing cluster keeps
# the user that owns it.
pick_db_user() {
  if [[ $EUID -ne 0 ]]; then
    DB_USER="$(id -un)"
    if [[ -e "$PG_DATA" && "$(stat -c %u "$PG_DATA")" != "$EUID" ]]; then
      die "$PG_DATA is owned by $(stat -c %U "$PG_DATA"), not you; run as that user/root or reset it"
    fi
    return
  fi
  local owner
  if [[ -e "$PG_DATA/PG_VERSION" ]]; then
    owner="$(stat -c %U "$PG_DATA")"
    if [[ "$owner" != root && "$owner" != UNKNOWN ]] && id -u "$owner" >/dev/null 2>&1; then
      DB_USER="$owner"
      return
    fi
  fi
  if id -u postgres >/dev/null 2>&1; then
    DB_USER=postgres
  else
    if ! id -u "$FALLBACK_DB_USER" >/dev/null 2>&1; then
      command -v useradd >/dev/null 2>&1 || die "no 'postgres' user and no useradd to create $FALLBACK_DB_USER"
      log "creating system user $FALLBACK_DB_USER to run Postgres (it refuses to run as root)"
      useradd --system --no-create-home --shell /usr/sbin/nologin "$FALLBACK_DB_USER"
    fi
    DB_USER="$FALLBACK_DB_USER"
  fi
}

# Run a command as $1. `cd /` because the caller's cwd (e.g. under /root) may be unreadable for
# that user, which makes initdb/pg_ctl warn or fail.
run_as() {
  local user="$1"; shift
  if [[ $EUID -ne 0 || "$user" == root ]]; then
    (cd / && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && su -s /bin/bash "$user" -c "$(printf '%q ' "$@")")
  fi
}

# The DB user must be able to traverse every parent of the data dir. A checkout under /root
# (mode 700) is the usual snag. We chmod o+x such parents and say so: o+x only allows passing
# through a directory, not listing or reading it, and the alternative (postgres can't start)
# is worse for a dev box. Use DATABASE_URL or move the checkout if that is not acceptable.
ensure_traversable() {
  local user="$1" target="$2" cur="" part
  [[ $EUID -eq 0 && "$user" != root ]] || return 0
  run_as "$user" test -x "$target" 2>/dev/null && return 0
  local parts
  IFS=/ read -ra parts <<< "$target"
  for part in "${parts[@]}"; do
    [[ -n "$part" ]] || continue
    cur="$cur/$part"
    if ! run_as "$user" test -x "$cur" 2>/dev/null; then
      chmod o+x "$cur" 2>/dev/null ||
        die "user $user cannot reach $cur and chmod o+x failed; set DATABASE_URL or move the checkout"
      log "note: chmod o+x $cur so Postgres (running as $user) can reach $target"
    fi
  done
  run_as "$user" test -x "$target" 2>/dev/null ||
    die "user $user still cannot reach $target; set DATABASE_URL or move the checkout somewhere like /srv"
}

pg_isready_bin() {
  if [[ -n "$PG_BIN" && -x "$PG_BIN/pg_isready" ]]; then printf '%s' "$PG_BIN/pg_isready"
  else command -v pg_isready 2>/dev/null || true
  fi
}

# Anything answering the Postgres protocol on 127.0.0.1:$1? (0 accepting, 1 rejecting = yes)
pg_port_answers() {
  local isready rc=0
  isready="$(pg_isready_bin)"
  [[ -n "$isready" ]] || return 1
  "$isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -t 2 >/dev/null 2>&1 || rc=$?
  (( rc == 0 || rc == 1 ))
}

pg_pid()  { sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }
pg_port_of_running() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null; }

# Is the cluster in PG_DATA running? pg_ctl status is authoritative (it can't run as root, hence
# run_as the owner); without binaries fall back to checking the pid from postmaster.pid.
pg_running() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  local owner pid
  pid="$(pg_pid)"
  pid_alive "$pid" || return 1
  owner="$(stat -c %U "$PG_DATA")"
  if [[ -n "$PG_BIN" && "$owner" != UNKNOWN ]]; then
    run_as "$owner" "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
  fi
}

# A postmaster killed with -9 can linger as a zombie in containers whose pid 1 doesn't reap.
# Postgres (and pg_ctl) would take that pid for a live server and refuse to start, so drop the
# stale lock file; shared-memory checks at startup still protect against surviving backends.
pg_clear_stale_pidfile() {
  local pid
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  pid="$(pg_pid)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && ! pid_alive "$pid"; then
    local sock_lock
    sock_lock="$(sed -n 5p "$PG_DATA/postmaster.pid")/.s.PGSQL.$(pg_port_of_running).lock"
    log "removing stale lock files of postgres pid $pid (a zombie)"
    # The socket's lock file names the same pid and would block the next start just the same.
    if [[ -f "$sock_lock" && "$(sed -n 1p "$sock_lock")" == "$pid" ]]; then
      rm -f "$sock_lock" "${sock_lock%.lock}"
    fi
    rm -f "$PG_DATA/postmaster.pid"
  fi
}

pg_start() {
  local want=""
  [[ -f "$PG_DATA/PG_VERSION" ]] && want="$(cat "$PG_DATA/PG_VERSION")"
  if ! find_pg_bin "$want"; then
    die "$PG_DATA was initialised by PostgreSQL $want but those binaries are not installed; install them, or run 'scripts/stack.sh reset ${DATA_DIR#"$REPO_ROOT"/}' to start over (drops its data)"
  fi
  pick_db_user

  mkdir -p "$PG_DATA"
  if [[ $EUID -eq 0 && "$(stat -c %U "$PG_DATA")" != "$DB_USER" ]]; then
    chown -R "$DB_USER": "$PG_DATA"
  fi
  chmod 700 "$PG_DATA"
  ensure_traversable "$DB_USER" "$PG_DATA"

  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    if [[ -n "$(ls -A "$PG_DATA")" ]]; then
      die "$PG_DATA is not empty but has no PG_VERSION (failed initdb?); run 'scripts/stack.sh reset' for it"
    fi
    log "initdb $PG_DATA (as $DB_USER)"
    local quiet=()   # skip initdb's "now start it with pg_ctl ..." hint (PG 13+)
    "$PG_BIN/initdb" --help 2>/dev/null | grep -q -- --no-instructions && quiet=(--no-instructions)
    # trust auth is fine: the server only listens on 127.0.0.1 and a private socket dir.
    run_as "$DB_USER" "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C "${quiet[@]}" >&2 || die "initdb failed"
  fi

  local port extra
  extra="$(pg_extra_options)"
  pg_clear_stale_pidfile
  if pg_running; then
    port="$(pg_port_of_running)"
    log "postgres already running from $PG_DATA on port $port: reusing"
    [[ "$port" == "$PG_PORT" ]] || log "warning: requested port $PG_PORT but the running server uses $port"
    [[ -z "$extra" ]] || log "note: KLAXON_PG_SETTINGS only applies when postgres starts; the running server keeps its settings"
  else
    port="$PG_PORT"
    if pg_port_answers "$port"; then
      die "port $port is already used by another Postgres; set KLAXON_PG_PORT to a free port"
    fi
    if [[ "$PG_SOCKET_DIR" == /tmp/* && -L "$PG_SOCKET_DIR" ]]; then
      die "$PG_SOCKET_DIR is a symlink; refusing to use it"
    fi
    mkdir -p "$PG_SOCKET_DIR"
    touch "$PG_LOG"
    if [[ $EUID -eq 0 ]]; then
      # pg_ctl (as DB_USER) appends to the log, and postgres creates its socket here.
      chown -h "$DB_USER": "$PG_SOCKET_DIR" "$PG_LOG"
    fi
    chmod 700 "$PG_SOCKET_DIR"
    log "starting postgres on 127.0.0.1:$port (as $DB_USER, log $PG_LOG)${extra:+, with$extra}"
    # </dev/null: don't let the postmaster hold the caller's stdin. pg_ctl itself redirects the
    # server's stdout/stderr into the log, so `$(stack.sh start)` doesn't hang on it.
    if ! run_as "$DB_USER" "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k '$PG_SOCKET_DIR' -c fsync=on -c max_connections=200$extra" \
        </dev/null >&2; then
      log "postgres failed to start; last lines of $PG_LOG:"
      tail -n 20 "$PG_LOG" >&2 || true
      exit 1
    fi
  fi
  PG_READY_PORT="$port"
  OUT_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_wait_ready() {
  local isready deadline=$((SECONDS + WAIT_SECONDS))
  isready="$(pg_isready_bin)"
  [[ -n "$isready" ]] || return 0   # pg_ctl -w already waited
  # As role postgres: probing as the OS user logs 'role "root" does not exist' every time.
  until "$isready" -q -h 127.0.0.1 -p "$PG_READY_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      log "postgres on port $PG_READY_PORT did not become ready within ${WAIT_SECONDS}s; last lines of $PG_LOG:"
      tail -n 20 "$PG_LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

pg_stop() {
  if [[ ! -f "$PG_DATA/postmaster.pid" ]]; then
    return 0
  fi
  local want=""
  [[ -f "$PG_DATA/PG_VERSION" ]] && want="$(cat "$PG_DATA/PG_VERSION")"
  find_pg_bin "$want" || PG_BIN=""
  pg_running || return 0
  local owner pid
  owner="$(stat -c %U "$PG_DATA")"
  pid="$(pg_pid)"
  log "stopping postgres (pid $pid) in $PG_DATA"
  if [[ -n "$PG_BIN" && "$owner" != UNKNOWN ]]; then
    run_as "$owner" "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 </dev/null >&2 && return 0
    log "pg_ctl stop failed; signalling pid $pid directly"
  fi
  # SIGINT = "fast" shutdown for the postmaster.
  kill -INT "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 60 || die "postgres (pid $pid) did not stop"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

redis_ping() { # port -> 0 if PONG. timeout: a non-Redis listener may never answer.
  [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]
}

redis_dir_of() { # port -> the `dir` of the Redis answering there
  timeout 3 redis-cli -h 127.0.0.1 -p "$1" config get dir 2>/dev/null | sed -n 2p
}

# pid of our Redis if it is alive (pidfile + process is really redis-server).
redis_pid() {
  [[ -f "$REDIS_PIDFILE" ]] || return 1
  local pid
  pid="$(tr -dc 0-9 < "$REDIS_PIDFILE")"
  pid_alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q redis || return 1
  fi
  printf '%s' "$pid"
}

redis_conf_port() { awk '$1 == "port" { print $2 }' "$REDIS_CONF" 2>/dev/null; }

# Decide before anything is launched whether we reuse a running Redis, start one, or must give
# up because another Redis owns the port, so a conflict doesn't leave Postgres half-started.
redis_plan() {
  local pid other
  REDIS_ACTION=start
  REDIS_READY_PORT="$REDIS_PORT"
  if pid="$(redis_pid)"; then
    REDIS_ACTION=reuse
    REDIS_READY_PORT="$(redis_conf_port)"
    log "redis already running (pid $pid) on port $REDIS_READY_PORT: reusing"
    [[ "$REDIS_READY_PORT" == "$REDIS_PORT" ]] ||
      log "warning: requested port $REDIS_PORT but the running server uses $REDIS_READY_PORT"
  elif redis_ping "$REDIS_PORT"; then
    # Only reuse a Redis that actually serves this data dir; anything else on the port might
    # be someone's dev data that tests would happily FLUSHALL.
    other="$(redis_dir_of "$REDIS_PORT")"
    if [[ "$other" != "$REDIS_DIR" ]]; then
      die "port $REDIS_PORT is already used by another Redis (dir ${other:-unknown}); set KLAXON_REDIS_PORT to a free port"
    fi
    REDIS_ACTION=reuse
    log "redis for $REDIS_DIR already answers on port $REDIS_PORT: reusing"
  fi
  OUT_REDIS_URL="redis://127.0.0.1:$REDIS_READY_PORT"
}

redis_start() {
  [[ "$REDIS_ACTION" == start ]] || return 0
  local port="$REDIS_READY_PORT"
  mkdir -p "$REDIS_DIR"
  # Config file rather than flags: it documents the settings and lets stop/status find the
  # port later. AOF only (save ""), fsync every second, never evict job data.
  cat > "$REDIS_CONF" <<EOF
# Generated by scripts/stack.sh; rewritten on every start.
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_DIR/redis.log"
dir "$REDIS_DIR"
save ""
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
EOF
  log "starting redis on 127.0.0.1:$port (log $REDIS_DIR/redis.log)"
  if ! redis-server "$REDIS_CONF" </dev/null >&2; then
    log "redis-server failed to start; last lines of $REDIS_DIR/redis.log:"
    tail -n 20 "$REDIS_DIR/redis.log" >&2 2>/dev/null || true
    exit 1
  fi
}

redis_wait_ready() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  # While replaying a big AOF Redis answers LOADING instead of PONG; keep waiting.
  until redis_ping "$REDIS_READY_PORT"; do
    if (( SECONDS >= deadline )); then
      log "redis on port $REDIS_READY_PORT did not answer within ${WAIT_SECONDS}s; last lines of $REDIS_DIR/redis.log:"
      tail -n 20 "$REDIS_DIR/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

wait_pid_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while pid_alive "$1"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

redis_stop() {
  local pid port
  pid="$(redis_pid)" || return 0
  port="$(redis_conf_port)"
  log "stopping redis (pid $pid) in $REDIS_DIR"
  # SHUTDOWN fsyncs the AOF before exiting. Only send it if the server on that port really is
  # ours; otherwise (or if it fails) SIGTERM, which Redis treats as a graceful SHUTDOWN too.
  if [[ -n "$port" && "$(redis_dir_of "$port")" == "$REDIS_DIR" ]] && command -v redis-cli >/dev/null 2>&1; then
    timeout 10 redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || true
  fi
  if ! wait_pid_gone "$pid" 5; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 30 || die "redis (pid $pid) did not stop"
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

cmd_start() {
  cmd_install
  # Created even when both URLs are overridden: test.sh writes its mocha log in here.
  mkdir -p "$DATA_DIR"
  if [[ -n "${REDIS_URL:-}" ]]; then
    OUT_REDIS_URL="$REDIS_URL"
  else
    redis_plan
  fi
  if [[ -n "${DATABASE_URL:-}" ]]; then
    OUT_DATABASE_URL="$DATABASE_URL"
  else
    pg_start
  fi
  [[ -n "${REDIS_URL:-}" ]] || redis_start
  [[ -n "${DATABASE_URL:-}" ]] || pg_wait_ready
  [[ -n "${REDIS_URL:-}" ]] || redis_wait_ready
  log "ready (data in $DATA_DIR)"
}

# Stop ignores DATABASE_URL/REDIS_URL on purpose: it is scoped to the data dir, and callers that
# exported the URLs printed by `start` must still be able to stop what `start` launched.
cmd_stop() {
  if [[ ! -d "$DATA_DIR" ]]; then
    log "nothing running ($DATA_DIR does not exist)"
    return 0
  fi
  local pg_was=0 redis_was=0
  [[ -f "$PG_DATA/postmaster.pid" ]] && pg_was=1
  redis_pid >/dev/null && redis_was=1
  pg_stop
  redis_stop
  (( pg_was || redis_was )) || log "nothing running for $DATA_DIR"
  return 0
}

cmd_status() {
  local pid port
  echo "data dir: $DATA_DIR"
  [[ -n "${DATABASE_URL:-}" ]] && echo "DATABASE_URL is set (start would use it instead of the private postgres)"
  [[ -n "${REDIS_URL:-}" ]] && echo "REDIS_URL is set (start would use it instead of the private redis)"

  local want=""
  [[ -f "$PG_DATA/PG_VERSION" ]] && want="$(cat "$PG_DATA/PG_VERSION")"
  find_pg_bin "$want" || PG_BIN=""
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    echo "postgres: not initialised"
  elif pg_running; then
    pid="$(pg_pid)"; port="$(pg_port_of_running)"
    local health=ready
    pg_port_answers "$port" || health="not answering"
    echo "postgres: running (pid $pid, $health) postgres://postgres@127.0.0.1:$port/postgres"
  else
    echo "postgres: stopped (PostgreSQL $want, $PG_DATA)"
  fi

  if pid="$(redis_pid)"; then
    port="$(redis_conf_port)"
    local health=ready
    redis_ping "$port" || health="not answering"
    echo "redis: running (pid $pid, $health) redis://127.0.0.1:$port"
  elif [[ -d "$REDIS_DIR" ]]; then
    echo "redis: stopped ($REDIS_DIR)"
  else
    echo "redis: not initialised"
  fi
}

cmd_reset() {
  # Refuse to rm -rf anything but a sub-directory of <repo>/.data (DATA_DIR is canonical).
  case "$DATA_DIR" in
    "$REPO_ROOT/.data/"?*) ;;
    *) die "refusing to reset $DATA_DIR: only directories under $REPO_ROOT/.data/ can be reset" ;;
  esac
  if [[ ! -e "$DATA_DIR" ]]; then
    log "$DATA_DIR does not exist; nothing to reset"
    return 0
  fi
  cmd_stop
  log "removing $DATA_DIR"
  rm -rf -- "$DATA_DIR"
  # The short-socket fallback lives outside the data dir.
  if [[ "$PG_SOCKET_DIR" == /tmp/klaxon-pg-* && -d "$PG_SOCKET_DIR" && ! -L "$PG_SOCKET_DIR" ]]; then
    rm -rf -- "$PG_SOCKET_DIR"
  fi
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    -h|--help|help) usage; exit 0 ;;
    "") usage; exit 1 ;;
  esac
  (( $# <= 2 )) || { usage; die "too many arguments"; }
  valid_port "$PG_PORT" || die "KLAXON_PG_PORT is not a valid port: $PG_PORT"
  valid_port "$REDIS_PORT" || die "KLAXON_REDIS_PORT is not a valid port: $REDIS_PORT"

  case "$cmd" in
    install) cmd_install ;;
    test-tools) cmd_test_tools ;;
    start)
      resolve_data_dir "${2:-}"
      # Everything but the final two lines goes to stderr, whatever the helpers print.
      cmd_start >&2
      # Verbatim, one per line: scripts/lib.sh reads these lines and exports them as-is.
      printf 'DATABASE_URL=%s\n' "$OUT_DATABASE_URL"
      printf 'REDIS_URL=%s\n' "$OUT_REDIS_URL"
      ;;
    stop)   resolve_data_dir "${2:-}"; cmd_stop ;;
    status) resolve_data_dir "${2:-}"; cmd_status ;;
    reset)  resolve_data_dir "${2:-}"; cmd_reset ;;
    *) usage; die "unknown command: $cmd" ;;
  esac
}

main "$@"
