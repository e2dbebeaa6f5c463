#!/usr/bin/env bash
# The hot standby of docker-compose.distributed.yaml: on an empty volume, a base backup of the primary
# (pg_basebackup -R writes primary_conninfo and standby.signal) through a physical replication slot, so the
# primary keeps the WAL a stopped standby has not replayed; then PostgreSQL as a read-only hot standby.
set -euo pipefail
export PGPASSWORD="${POSTGRES_PASSWORD}"
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  until pg_isready -h postgres -U "${POSTGRES_USER}" -d "${POSTGRES_DB}"; do sleep 2; done
  psql -h postgres -U "${POSTGRES_USER}" -d "${POSTGRES_DB}" -tAc \
    "select pg_create_physical_replication_slot('govlake_standby') where not exists
       (select 1 from pg_replication_slots where slot_name = 'govlake_standby')"
  pg_basebackup -h postgres -U "${POSTGRES_USER}" -D "${PGDATA}" -R -X stream -S govlake_standby -c fast
  chmod 700 "${PGDATA}"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c max_standby_streaming_delay=30s \
  -c max_connections=200 -c shared_buffers=256MB -c jit=off
