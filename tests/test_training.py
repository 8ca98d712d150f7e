"""REINFORCE training: short CPU runs that must clearly beat a random policy."""

import subprocess
import sys

import pytest
import torch

from nco.checkpoints import load_policy
from nco.data import SolverError
from nco.envs import make_env
from nco.neural import decode
from nco.training import fixed_batch, train


def random_policy_cost(problem: str, n: int, size: int = 200) -> float:
    """Mean cost of uniformly random legal actions on the validation instances."""
    env = make_env(problem)
    state = env.reset(fixed_batch(problem, n, size, 7))
    gen = torch.Generator().manual_seed(0)
    while not state.done:
        probs = state.mask.float()
        state = env.step(state, torch.multinomial(probs.view(-1, probs.shape[-1]), 1, generator=gen).view(size, 1))
    return float(state.length.mean())


def policy_cost(path, problem, n, how):
    policy, meta = load_policy(path)
    return float(decode(policy, meta, fixed_batch(problem, n, 200, 7), how).cost.mean())


@pytest.mark.parametrize("problem, policy, how", [("tsp", "pomo", "multistart"), ("tsp", "am", "greedy"),
                                                  ("tsp", "ptrnet", "greedy"), ("cvrp", "pomo", "multistart")])
def test_short_training_beats_a_random_policy(tmp_path, problem, policy, how):
    # A step budget, not a time budget, so the result does not depend on how busy the machine is; the
    # rollout baseline (am) gets two epochs so its t-test path runs; the pointer network learns slowest.
    result = train(problem, num_nodes=10, policy=policy, max_minutes=5, max_steps=150 if policy == "ptrnet" else 30,
                   out=tmp_path, accelerator="cpu", steps_per_epoch=15, val_size=100, val_batch_size=100,
                   batch_size=128 if policy != "pomo" else 32)
    assert result["instances_seen"] > 0 and (tmp_path / "policy.pt").exists()
    trained = policy_cost(result["policy"], problem, 10, how)
    assert trained < 0.8 * random_policy_cost(problem, 10)


def test_ddp_on_two_cpu_processes_trains_and_counts_both_ranks(tmp_path):
    # Lightning's DDP launcher starts the second rank by running the same command again, so this goes
    # through the CLI; only rank 0 writes the policy and reports.
    out = tmp_path / "ddp"
    run = subprocess.run([sys.executable, "-m", "nco.cli", "train", "tsp", "--num-nodes", "10", "--max-minutes", "5",
                          "--max-steps", "30", "--steps-per-epoch", "15", "--batch-size", "32", "--val-size", "100",
                          "--accelerator", "cpu", "--devices", "2", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("policy:") == 1
    _, meta = load_policy(out / "policy.pt")
    assert meta["training"]["device"] == "2 x CPU (DDP)"
    best_step = int(run.stdout.strip().splitlines()[-1].rsplit("step=", 1)[1].removesuffix(".ckpt"))
    assert meta["training"]["instances_seen"] == best_step * 32 * 2  # the best checkpoint's, both ranks' batches
    assert policy_cost(out / "policy.pt", "tsp", 10, "multistart") < 0.8 * random_policy_cost("tsp", 10)


def test_bad_training_options_are_refused(tmp_path):
    with pytest.raises(SolverError, match="shared baseline needs POMO"):
        train("tsp", 10, policy="am", baseline="shared", max_minutes=0.1, out=tmp_path, accelerator="cpu")
    with pytest.raises(SolverError, match="max_minutes"):
        train("tsp", 10, max_minutes=0, out=tmp_path)


@pytest.mark.slow
def test_two_minute_cli_training_then_eval(tmp_path):
    """The issue's acceptance run: nco train for 2 minutes on CPU, then nco eval on 1000 test instances."""
    out = tmp_path / "t"
    run = subprocess.run([sys.executable, "-m", "nco.cli", "train", "tsp", "--num-nodes", "20", "--max-minutes", "2",
                          "--accelerator", "cpu", "--out", str(out)], capture_output=True, text=True, check=True)
    checkpoint = run.stdout.strip().splitlines()[-1]
    assert checkpoint.endswith(".ckpt")
    ev = subprocess.run([sys.executable, "-m", "nco.cli", "eval", checkpoint, "--instances", "1000", "--device", "cpu"],
                        capture_output=True, text=True, check=True)
    assert "Concorde" in ev.stdout
    trained = policy_cost(checkpoint, "tsp", 20, "multistart")
    assert trained < 0.6 * random_policy_cost("tsp", 20)
    resumed = train("tsp", 20, max_minutes=0.2, out=tmp_path / "r", accelerator="cpu", resume=checkpoint)
    assert resumed["instances_seen"] > 0


def test_yaml_config_feeds_nco_train_and_unknown_keys_are_named(tmp_path, capsys):
    from nco.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("num_nodes: 10\nlearning_rate: 0.1\n")
    assert main(["train", "tsp", "--config", str(bad)]) == 2
    assert "learning_rate" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text(f"num_nodes: 8\nmax_minutes: 0.05\naccelerator: cpu\nsteps_per_epoch: 3\nval_size: 50\n"
                    f"out: {tmp_path / 'run'}\n")
    assert main(["train", "tsp", "--config", str(good), "--batch-size", "8"]) == 0
    _, meta = load_policy(tmp_path / "run" / "policy.pt")
    assert meta["num_nodes"] == 8 and meta["training"]["batch_size"] == 8
