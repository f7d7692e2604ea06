#!/usr/bin/env bash
# Stop what start.sh started in DIR (default /tmp/crypto-local-scale); the data stays there.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/crypto-local-scale}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

if [ -f "$dir/nginx/nginx.pid" ]; then "$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -s quit; fi
for pidfile in "$dir"/app-*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null  # graceful: requests in flight finish
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
done
if [ -f "$dir/redis.pid" ]; then kill -TERM "$(cat "$dir/redis.pid")" 2>/dev/null; fi
"$here/postgres-pair.sh" stop "$dir/pg"
echo "stopped (data kept in $dir)"
