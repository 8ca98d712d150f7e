#!/usr/bin/env bash
# GPU call 2 (about 9 minutes): the RL4CO comparison, CVRP100 POMO from scratch for MINUTES (default 6.5, as
# RL4CO's run) alone on the GPU, then x8 on the first 1,000 Kool test instances against PyVRP-3s (item 3).
# BATCH: the batch size the probe chose (default 256); COMPILE=--compile when the probe's compiled steps were
# faster. The table keeps the earlier H100 rows: $OUT/training.{csv,md,png} replace
# benchmarks/results/h100/training.* here.
#   run(command="BATCH=512 bash benchmarks/gpu/rl4co.sh", carry=[".whl"], timeout_s=600)
set -o pipefail
. benchmarks/gpu/setup.sh
mkdir -p /tmp/rl4co && cp benchmarks/results/h100/training.csv /tmp/rl4co/
python3 benchmarks/training.py --minutes "${MINUTES:-6.5}" --lr 1e-3 --curriculum 20:1m,50:1.5m \
    --batch-size "${BATCH:-256}" ${COMPILE:-} --reference benchmarks/results/h100/pyvrp_first1000.csv \
    --out /tmp/rl4co 2>&1 | tee "$OUT/training.log"
cp /tmp/rl4co/training.csv /tmp/rl4co/training.md /tmp/rl4co/training.png "$OUT/"
