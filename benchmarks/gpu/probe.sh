#!/usr/bin/env bash
# GPU call 1 (about 4 minutes): the CUDA-only and compiled-step tests, then the cost of one CVRP100 training
# step by batch size, eager and compiled (benchmarks/GPU.md, "Waiting for the next GPU", item 2).
#   run(command="bash benchmarks/gpu/probe.sh", carry=[".whl"], timeout_s=600)
set -o pipefail
. benchmarks/gpu/setup.sh
python3 -m pytest -q -p no:cacheprovider tests/test_policies.py -k "stall or compiled" 2>&1 | tee "$OUT/tests.log"
python3 benchmarks/throughput.py --num-nodes 100 --batch-sizes 64 128 256 512 1024 2048 --steps 8 --warmup 2 \
    --out "$OUT/throughput"
python3 benchmarks/throughput.py --num-nodes 100 --batch-sizes 256 1024 --steps 8 --warmup 2 --compile \
    --out "$OUT/throughput"
