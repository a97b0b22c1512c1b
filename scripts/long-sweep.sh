#!/usr/bin/env bash
# The long experiment of issue 18 (docs/reproduction.md, "The whole training set"), resumed at the start of a
# working session: niced, two workers, from a frozen copy of the build (so that rebuilding the working tree
# never changes the code a running worker loads). Its folders live outside the work tree, in $RUNS
# (default /work/runs); attacks and runs continue from their checkpoints there.
# A working period's machine may be a fresh one, with no $RUNS: the finished runs therefore live in the repository
# too, in docs/sweeps/<config>/runs.sqlite (a sweep folder without its poisons and checkpoints). Starting merges them
# into $RUNS first, so the sweep skips them and rebuilds only the poisons the remaining runs need (deterministic:
# the same poison, only the CPU time is spent again; merge names any run whose rerun gave other numbers).
#   scripts/long-sweep.sh            # start or resume
#   scripts/long-sweep.sh status     # what is done, running, and how far each attack is
#   scripts/long-sweep.sh save       # copy the finished runs into docs/sweeps/ (then commit them)
#   SELECT='B-B*/w10/*' scripts/long-sweep.sh   # only the runs (and so the poisons) that fit this working period
#   PAIR=1 scripts/long-sweep.sh                # also the figure's m = 1e5 pair (only where the machine is kept)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-/work/runs}"
FROZEN="${FROZEN:-$RUNS/frozen}"
ARCHIVE="$ROOT/docs/sweeps"
CONFIGS=(paper-mnist-screen)  # and paper-mnist-pair, below, once its poisons exist
mkdir -p "$RUNS"
poisonlab() { node "$ROOT/dist/src/cli/main.js" "$@"; }
if [[ "${1:-}" == save ]]; then
  for c in "${CONFIGS[@]}" paper-mnist-pair; do
    [[ -f "$RUNS/$c/runs.sqlite" ]] || continue
    mkdir -p "$ARCHIVE/$c"
    poisonlab merge "$ARCHIVE/$c" "$RUNS/$c"
  done
  exit 0
fi
if [[ "${1:-}" == status ]]; then
  for c in "${CONFIGS[@]}" paper-mnist-pair; do
    sqlite3 "$RUNS/$c/runs.sqlite" "SELECT label, width, round(100*test_accuracy,2), epochs, round(seconds) FROM runs ORDER BY label, width" 2>/dev/null || true
    # long tasks (the attacks): steps done, and their rate and ETA since the piece now running started
    sqlite3 "$RUNS/$c/runs.sqlite" "SELECT task, done || ' / ' || total, updated_at,
        CASE WHEN rate > 0 THEN round(rate, 1) || ' steps/s, ETA ' || round((total - done) / rate / 3600, 2) || ' h' END
      FROM (SELECT *, (done - first_done) / ((julianday(updated_at) - julianday(started_at)) * 86400) AS rate FROM tasks)" \
      2>/dev/null || true
    # runs in progress: epochs so far, the best validation accuracy (the latest epoch reaching it: ties restart the
    # patience) and the test accuracy there, which is what the run reports if it stops now
    sqlite3 "$RUNS/$c/runs.sqlite" "SELECT e.run_key, 'epoch ' || max(e.epoch),
        (SELECT 'best val ' || round(100*b.val_accuracy,3) || ' at ' || b.epoch || ', test ' || round(100*b.test_accuracy,2)
           FROM epochs b WHERE b.run_key = e.run_key ORDER BY b.val_accuracy DESC, b.epoch DESC LIMIT 1)
      FROM epochs e WHERE e.run_key NOT IN (SELECT run_key FROM runs) GROUP BY e.run_key" 2>/dev/null || true
  done
  exit 0
fi
if pgrep -f "$FROZEN/dist/src/cli/main.js sweep" >/dev/null; then echo "already running (stop it to restart with a new build)"; exit 0; fi
(cd "$ROOT" && npx tsc -p tsconfig.json)
rm -rf "$FROZEN" && mkdir -p "$FROZEN/native"
cp -r "$ROOT/dist" "$ROOT/package.json" "$ROOT/configs" "$FROZEN/"
cp -r "$ROOT/native/build" "$FROZEN/native/"
ln -s "$ROOT/node_modules" "$FROZEN/node_modules"
git -C "$ROOT" rev-parse HEAD > "$FROZEN/COMMIT"
# The runs finished in earlier working periods, on whatever machine.
for c in "${CONFIGS[@]}" paper-mnist-pair; do
  if [[ -f "$ARCHIVE/$c/runs.sqlite" ]]; then mkdir -p "$RUNS/$c"; poisonlab merge "$RUNS/$c" "$ARCHIVE/$c"; fi
done
start() {
  # POISONLAB_GEMM=own: the project's own sgemm whether or not libopenblas-dev is installed (CI installs it), so
  # that a run resumed from its checkpoint, or rerun on another machine, sums its products in the same order
  POISONLAB_GEMM=own OPENBLAS_NUM_THREADS=1 nohup nice -n 19 node "$FROZEN/dist/src/cli/main.js" sweep --config "$FROZEN/configs/$1.yaml" \
    --out "$RUNS/$1" --workers 2 ${SELECT:+--runs "$SELECT"} >> "$RUNS/$1.log" 2>&1 &
  echo "started $1 (log $RUNS/$1.log)"
}
for c in "${CONFIGS[@]}"; do start "$c"; done
# The figure's pair trains on the screen's poisons: started only once they exist, so that none is made twice, and
# only with PAIR=1: one m = 1e5 run is ~9.5 CPU-hours (docs/reproduction.md 6.3), more than a 3-hour working
# period, and its checkpoint does not outlive a fresh machine; on a machine kept between periods it can go on.
screen="$RUNS/paper-mnist-screen/poisons"
if [[ "${PAIR:-0}" == 1 && -f "$screen/A-C500-shared.npz" && -f "$screen/B-B1-shared.npz" ]]; then
  mkdir -p "$RUNS/paper-mnist-pair"
  [[ -e "$RUNS/paper-mnist-pair/poisons" ]] || ln -s "$screen" "$RUNS/paper-mnist-pair/poisons"
  start paper-mnist-pair
fi
