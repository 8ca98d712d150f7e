#!/usr/bin/env bash
# GPU call 3 (about 9 minutes): the shipped TSP100 and CVRP100 POMO policies trained on for MINUTES (default
# 5.5, which leaves the evaluations room in the 10-minute call) at the default learning rate, the two runs
# sharing the GPU, then each evaluated with multi-start x8 on all 10,000 Kool test instances (item 4). The new
# policy files come back as $OUT/{tsp,cvrp}-pomo-100.pt; here,
# `python -c "import nco.checkpoints as c; c.ship('PATH')"` puts one into the package.
#   run(command="BATCH=512 bash benchmarks/gpu/continue.sh", carry=[".whl"], timeout_s=600)
set -o pipefail
. benchmarks/gpu/setup.sh
for p in tsp cvrp; do
    python3 -m nco.cli train $p --num-nodes 100 --policy pomo --init nco/checkpoints/$p-pomo-100.pt \
        --max-minutes "${MINUTES:-5.5}" --batch-size "${BATCH:-256}" ${COMPILE:-} --out /tmp/runs/$p \
        > "$OUT/train-$p.log" 2>&1 &
done
wait
for p in tsp cvrp; do
    tail -3 "$OUT/train-$p.log"
    cp /tmp/runs/$p/policy.pt "$OUT/$p-pomo-100.pt" || continue
    python3 -m nco.cli eval "$OUT/$p-pomo-100.pt" --instances 10000 --decode multistart --augment 8 \
        2>&1 | tee "$OUT/eval-$p.log"
done
