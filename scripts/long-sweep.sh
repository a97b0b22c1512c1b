#!/usr/bin/env bash
# The long experiment of issue 18 (docs/reproduction.md, "The whole training set"), resumed at the start of a
# working session: niced, two workers, from a frozen copy of the build (so that rebuilding the working tree
# never changes the code a running worker loads). Its folders live outside the work tree, in $RUNS
# (default /work/runs); attacks and runs continue from their checkpoints there.
#   scripts/long-sweep.sh            # start or resume
#   scripts/long-sweep.sh status     # what is done, running, and how far each attack is
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-/work/runs}"
FROZEN="${FROZEN:-$RUNS/frozen}"
CONFIGS=(paper-mnist-screen)
mkdir -p "$RUNS"
if [[ "${1:-}" == status ]]; then
  for c in "${CONFIGS[@]}"; do
    sqlite3 "$RUNS/$c/runs.sqlite" "SELECT label, width, round(100*test_accuracy,2), epochs, round(seconds) FROM runs ORDER BY label, width" 2>/dev/null || true
    sqlite3 "$RUNS/$c/runs.sqlite" "SELECT task, done, total, updated_at FROM tasks" 2>/dev/null || true
  done
  exit 0
fi
if pgrep -f "$FROZEN/dist/src/cli/main.js sweep" >/dev/null; then echo "already running"; exit 0; fi
(cd "$ROOT" && npx tsc -p tsconfig.json)
rm -rf "$FROZEN" && mkdir -p "$FROZEN/native"
cp -r "$ROOT/dist" "$ROOT/package.json" "$ROOT/configs" "$FROZEN/"
cp -r "$ROOT/native/build" "$FROZEN/native/"
ln -s "$ROOT/node_modules" "$FROZEN/node_modules"
git -C "$ROOT" rev-parse HEAD > "$FROZEN/COMMIT"
for c in "${CONFIGS[@]}"; do
  OPENBLAS_NUM_THREADS=1 nohup nice -n 19 node "$FROZEN/dist/src/cli/main.js" sweep --config "$FROZEN/configs/$c.yaml" \
    --out "$RUNS/$c" --workers 2 >> "$RUNS/$c.log" 2>&1 &
  echo "started $c (log $RUNS/$c.log)"
done
