#!/usr/bin/env bash
# A PostgreSQL primary and a streaming replica of it (pg_basebackup -R), in a folder of their own,
# on loopback ports of your choice. Never touches another cluster (e.g. the one on 5432).
#
#   postgres-pair.sh start DIR PRIMARY_PORT REPLICA_PORT   initdb (first time), start both
#   postgres-pair.sh stop DIR                              stop both (fast shutdown)
#   postgres-pair.sh replica-stop DIR | replica-start DIR  the replica alone
#
# As root the servers run as the `postgres` system user (PostgreSQL refuses to run as root);
# otherwise as you. PG_BIN defaults to Debian's PostgreSQL 15; PG_FAST=1 turns fsync off (tests).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
command=${1:?usage: postgres-pair.sh start|stop|replica-stop|replica-start DIR [PRIMARY_PORT REPLICA_PORT]}
dir=${2:?DIR missing}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

pg_ctl_start() { as_owner "$PG_BIN/pg_ctl -D $dir/$1 -l $dir/$1.log -w -t 60 start" >/dev/null; }
pg_ctl_stop() {
  if [ -f "$dir/$1/postmaster.pid" ]; then as_owner "$PG_BIN/pg_ctl -D $dir/$1 -m fast -w -t 60 stop" >/dev/null; fi
}

case "$command" in
  start)
    primary_port=${3:?PRIMARY_PORT missing}
    replica_port=${4:?REPLICA_PORT missing}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$dir"
      if ! su postgres -s /bin/sh -c "test -w $dir"; then
        echo "the postgres user cannot reach $dir (a parent folder is private?)" >&2
        exit 1
      fi
    fi
    if [ ! -d "$dir/primary" ]; then
      as_owner "$PG_BIN/initdb -D $dir/primary -U postgres -A trust --no-instructions" >/dev/null
      {
        echo "port = $primary_port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "shared_buffers = 32MB"
        echo "wal_level = replica"
        echo "max_wal_senders = 5"
        echo "hot_standby_feedback = on"
        if [ "${PG_FAST:-0}" = 1 ]; then echo "fsync = off"; fi
      } | as_owner "cat >> $dir/primary/postgresql.conf"
    fi
    pg_ctl_start primary
    if [ ! -d "$dir/replica" ]; then
      # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
      as_owner "$PG_BIN/pg_basebackup -h 127.0.0.1 -p $primary_port -U postgres -D $dir/replica -R -X stream -c fast"
      echo "port = $replica_port" | as_owner "cat >> $dir/replica/postgresql.conf"
    fi
    pg_ctl_start replica
    ;;
  stop)
    pg_ctl_stop replica
    pg_ctl_stop primary
    ;;
  replica-stop) pg_ctl_stop replica ;;
  replica-start) pg_ctl_start replica ;;
  *) echo "unknown command: $command" >&2; exit 2 ;;
esac
