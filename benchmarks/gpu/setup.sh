# Sourced at the start of each call on the GPU machine (`. benchmarks/gpu/setup.sh`): installs the carried
# wheels and nco itself under /tmp and points Python at them. PYTHONSAFEPATH keeps the checkout's own nco/
# folder (the current directory) from shadowing the installed package and its compiled parts.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "setup: carry .whl (run benchmarks/gpu/wheels.sh here first)"; exit 2; }
python3 -m pip install -q --no-deps --no-build-isolation --target /tmp/nco . || exit 2
export PYTHONPATH=/tmp/nco:/tmp/site PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1
export OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
python3 -c "import torch, nco; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
