#!/bin/bash
# Start poisonlab workers on this machine for a queue sweep (one per core by default), until Ctrl-C.
#   QUEUE=redis://queue-host:6379 CACHE=/shared/poisonlab-cache ./bullmq-worker.sh
# With a CACHE shared by all machines, each poison is built once and a run re-delivered after a dead
# machine continues from its last checkpoint; with a local CACHE each machine rebuilds what it needs
# (checked against the content hash the job carries).
set -euo pipefail
POISONLAB=${POISONLAB:-$HOME/poisonlab}
QUEUE=${QUEUE:?set QUEUE=redis://HOST:PORT}
CACHE=${CACHE:-$HOME/poisonlab-cache}
CONCURRENCY=${CONCURRENCY:-$(nproc)}
exec nice -n 10 node "$POISONLAB/dist/src/cli/main.js" worker --queue "$QUEUE" --cache "$CACHE" \
  --concurrency "$CONCURRENCY"
