#!/usr/bin/env bash
# The scale-out topology on one machine, as Elastic Beanstalk would run it on several:
#   PostgreSQL primary + streaming replica (postgres-pair.sh), Redis, two app instances
#   (gunicorn masters, WEB_CONCURRENCY workers each) and nginx balancing between them.
#
#   deploy/local-scale/start.sh [DIR]     start everything (DIR default /tmp/crypto-local-scale)
#   deploy/local-scale/stop.sh [DIR]      stop everything (the data stays in DIR)
#
# Ports (override from the environment): PRIMARY_PORT 15432, REPLICA_PORT 15433, REDIS_PORT 16379,
# APP_PORTS "18001 18002", LB_PORT 18080 (the balancer: http://127.0.0.1:18080/api/v1/dashboard?id=all).
# Needs the project's .venv (`make run` or `make test` creates it), PostgreSQL 15's server binaries,
# redis-server and nginx (Debian: apt-get install postgresql-15 redis-server nginx).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-/tmp/crypto-local-scale}
PRIMARY_PORT=${PRIMARY_PORT:-15432}
REPLICA_PORT=${REPLICA_PORT:-15433}
REDIS_PORT=${REDIS_PORT:-16379}
APP_PORTS=${APP_PORTS:-"18001 18002"}
LB_PORT=${LB_PORT:-18080}
PYTHON=${PYTHON:-$root/.venv/bin/python}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_BIN

# Prerequisites first: name every missing one and start nothing.
missing=()
[ -x "$PYTHON" ] || missing+=("the project's virtualenv ($PYTHON: run \`make run\` or \`make test\` once)")
for tool in initdb pg_ctl pg_basebackup; do
  [ -x "$PG_BIN/$tool" ] || missing+=("PostgreSQL 15's $tool in $PG_BIN (apt-get install postgresql-15, or set PG_BIN)")
done
for tool in psql redis-server curl; do
  command -v "$tool" >/dev/null || missing+=("$tool (apt-get install ${tool/psql/postgresql-client-15})")
done
[ -x "$NGINX" ] || missing+=("nginx at $NGINX (apt-get install nginx, or set NGINX)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "local-scale: missing prerequisites, nothing started:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# Any failure from here on: say which command failed, then stop what this run started (only that).
started=()
app_pids=()
on_error() { echo "local-scale: failed (exit $1) at line $2: $3" >&2; }
cleanup() {
  local status=$?
  [ "$status" -eq 0 ] && return
  echo "local-scale: stopping what this run started: ${started[*]:-nothing}" >&2
  for step in $(printf '%s\n' "${started[@]}" | tac); do
    case "$step" in
      nginx) "$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -s quit 2>/dev/null || true ;;
      apps) for pid in "${app_pids[@]}"; do
              kill -TERM "$pid" 2>/dev/null || true
              for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            done ;;
      redis) [ -f "$dir/redis.pid" ] && kill -TERM "$(cat "$dir/redis.pid")" 2>/dev/null || true ;;
      postgres) "$here/postgres-pair.sh" stop "$dir/pg" || true ;;
    esac
  done
  exit "$status"
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
trap cleanup EXIT

mkdir -p "$dir"
chmod 755 "$dir"  # as root, the servers run as the postgres user, who must reach $dir/pg

echo "PostgreSQL primary on $PRIMARY_PORT, streaming replica on $REPLICA_PORT"
started+=(postgres)
"$here/postgres-pair.sh" start "$dir/pg" "$PRIMARY_PORT" "$REPLICA_PORT"
if ! psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'crypto'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -qc "CREATE DATABASE crypto"
fi

echo "Redis on $REDIS_PORT"
started+=(redis)
redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PRIMARY_PORT/crypto"
export DATABASE_REPLICA_URL="postgresql://postgres@127.0.0.1:$REPLICA_PORT/crypto"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
# Behind one proxy (nginx): client addresses (rate limits, logs) come from X-Forwarded-For.
export TRUSTED_PROXIES=${TRUSTED_PROXIES:-1}

# The leader's one-off step (on EB: a leader_only container command), once, before any instance.
cd "$root"
"$PYTHON" -m flask --app app db upgrade

upstreams=""
started+=(apps)
for port in $APP_PORTS; do
  echo "app instance on $port (log $dir/app-$port.log)"
  mkdir -p "$dir/metrics-$port"
  rm -f "$dir/metrics-$port"/*.db
  PROMETHEUS_MULTIPROC_DIR="$dir/metrics-$port" nohup "$PYTHON" -m gunicorn -c gunicorn.conf.py \
    --bind "127.0.0.1:$port" --pid "$dir/app-$port.pid" app:app </dev/null >"$dir/app-$port.log" 2>&1 &
  app_pids+=($!)
  upstreams="$upstreams        server 127.0.0.1:$port max_fails=0;\n"
done

echo "nginx on $LB_PORT"
mkdir -p "$dir/nginx"
sed -e "s|@PREFIX@|$dir/nginx|g" -e "s|@LISTEN@|$LB_PORT|g" -e "s|@UPSTREAMS@|${upstreams#        }|" \
  "$here/nginx.conf.template" >"$dir/nginx/nginx.conf"
started+=(nginx)
"$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/nginx-error.log" </dev/null \
  >"$dir/nginx/nginx-start.log" 2>&1

for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$LB_PORT/ready" >/dev/null; then
    echo "ready: http://127.0.0.1:$LB_PORT/api/v1/dashboard?id=all   (stop: $here/stop.sh $dir)"
    exit 0
  fi
  sleep 0.5
done
echo "local-scale: the balancer does not answer /ready after 60 s; see $dir/app-*.log" >&2
exit 1
