#!/usr/bin/env bash
# Run HERE (not on the GPU machine), from the repository root: fetches the wheels the GPU machine lacks into
# .whl/ (git-ignored through .git/info/exclude, about 32 MB), which each `run` call then carries.
set -euo pipefail
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    ortools==9.15.6755 immutabledict protobuf==6.33.6 vrplib==2.2.0 pyvrp==0.14.1 \
    gymnasium==1.4.0 farama-notifications
ls .whl
du -sh .whl
