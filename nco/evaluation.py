"""Evaluating a trained policy on the Kool et al. test sets (or instance files): mean cost, gap, time."""

from __future__ import annotations

import math

import numpy as np
import torch

from nco.data import KOOL_TEST_SEED, InstanceError, evaluate, get_problem, read_instance
from nco.envs.batch import Batch, kool_batch

from .checkpoints import expect, load_policy
from .neural import decode, device_named, routes_of, to_batch


def test_batch(problem: str, num_nodes: int, count: int) -> Batch:
    """The first ``count`` instances of Kool's test set (seed 1234, 10,000 instances)."""
    if not 1 <= count <= 10_000:
        raise InstanceError(f"expected 1 to 10000 test instances, got {count}", field="instances")
    return kool_batch(problem, num_nodes, count, KOOL_TEST_SEED)


def evaluate_policy(checkpoint: str, instances: int = 1000, how: str = "multistart", augment_factor: int = 1,
                    samples: int = 16, batch_size: int | None = None, device: str | None = None,
                    files: list[str] | None = None, num_nodes: int | None = None) -> dict:
    """Decode the test set (or ``files``) in chunks; return mean cost, reference, gap, seconds, throughput.

    ``seconds`` is the decoding time after an untimed warm-up decode of one instance.
    """
    dev = device_named(device)
    policy, meta = load_policy(checkpoint)
    policy = policy.to(dev)
    n = num_nodes or meta["num_nodes"]
    loaded = [read_instance(f) for f in files] if files else None
    for instance in loaded or []:  # a policy of another problem: say so, not what its decoding breaks
        expect(checkpoint, meta, problem=instance.problem)
    if loaded:
        batch = to_batch(loaded)
        reference, source = None, None
    else:
        batch = test_batch(meta["problem"], n, instances)
        spec = get_problem(meta["problem"])
        reference = spec.reference.get(n)
        source = spec.reference_solver if reference else None
    chunk = batch_size or (1000 if dev.type == "cuda" else 50)
    # Untimed warm-up on one instance: a process's first decode pays one-time costs (CUDA loads its
    # kernels lazily, cuBLAS makes its handles) that are not the policy's speed.
    decode(policy, meta, batch.slice(0, 1).to(dev), how, augment_factor, samples)
    costs, seconds = [], 0.0
    for start in range(0, batch.size, chunk):
        part = batch.slice(start, start + chunk).to(dev)
        out = decode(policy, meta, part, how, augment_factor, samples)
        if loaded:  # files were scaled into the unit square: recompute on each instance's own matrix
            costs.append(torch.tensor([evaluate(loaded[start + k], routes_of(meta["problem"], a.cpu()))
                                       for k, a in enumerate(out.actions)]))
        else:
            costs.append(out.cost.float().cpu())
        seconds += out.seconds
    cost = torch.cat(costs).numpy()
    mean = float(np.mean(cost))
    return {"problem": meta["problem"], "policy": meta["policy"], "num_nodes": n, "instances": int(batch.size),
            "decode": how, "augment": augment_factor, "mean_cost": mean, "reference": reference,
            "reference_source": source, "gap": None if reference is None else 100 * (mean - reference) / reference,
            "seconds": seconds, "per_second": batch.size / seconds if seconds else math.inf,
            "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU",
            "full_test_set": not loaded and batch.size == 10_000}
