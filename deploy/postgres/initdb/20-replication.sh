#!/usr/bin/env bash
# Let the hot standby (docker-compose.distributed.yaml) stream from this primary: replication connections
# from the compose network, with the same scram passwords as every other connection.
set -euo pipefail
echo "host replication all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
