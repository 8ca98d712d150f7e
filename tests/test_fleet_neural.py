"""The learned half on fleets end to end: a policy trained here (seconds), shipped into a temporary folder,
then nco.solve and nco solve with neural, neural+ga and neural+ortools; checkpoints that cannot serve."""

import numpy as np
import pytest
import torch

import nco
from nco import checkpoints
from nco.checkpoints import CheckpointError
from nco.data import InstanceError, pvrp
from nco.data.pvrp import read_fleet_solution
from nco.training import train


@pytest.fixture(scope="module")
def shipped_hcvrp(tmp_path_factory):
    """A CAMP policy for HCVRP with 3 vehicles, trained for 40 steps at n = 10 (about 12 s), in a folder that
    stands for the shipped checkpoints."""
    out = tmp_path_factory.mktemp("train")
    result = train("hcvrp", num_nodes=10, num_vehicles="3", max_minutes=5, max_steps=40, out=out,
                   accelerator="cpu", steps_per_epoch=20, val_size=50, val_batch_size=50, batch_size=32)
    folder = tmp_path_factory.mktemp("shipped")
    original = checkpoints.SHIPPED
    checkpoints.SHIPPED = folder
    checkpoints.ship(result["policy"])
    yield folder / "pvrp-camp-hcvrp.pt"
    checkpoints.SHIPPED = original


def test_the_shipped_fleet_policy_is_named_for_its_preset(shipped_hcvrp):
    assert shipped_hcvrp.exists()
    _, meta = checkpoints.load_policy(shipped_hcvrp)
    assert meta["policy"] == "camp" and meta["training"]["preset"] == "hcvrp"


@pytest.mark.parametrize("solver", ["neural", "neural+ga", "neural+ortools"])
def test_nco_solve_serves_a_fleet_with_the_policy_and_its_hybrids(shipped_hcvrp, solver):
    instance = pvrp.random_fleet(10, seed=11, preset="hcvrp", num_vehicles=3)
    solution = nco.solve(instance, solver=solver, time_limit=2)
    assert solution.solver == solver and len(solution.vehicles) == len(solution.routes)
    cost = instance.cost_of(solution.routes, solution.vehicles)  # checked again: once, allowed, capacity
    assert cost.objective == pytest.approx(solution.cost)
    if solver != "neural":  # the refiner starts from the policy's solutions and only keeps better ones
        assert solution.cost <= nco.solve(instance, solver="neural", time_limit=2).cost + 1e-9


def test_a_policy_that_cannot_serve_the_fleet_says_what_it_was_trained_for(shipped_hcvrp):
    five = pvrp.random_fleet(10, seed=1, preset="hcvrp", num_vehicles=5)
    with pytest.raises(CheckpointError, match="trained for 3 vehicles, not for 5"):
        nco.solve(five, solver="neural")
    preferences = pvrp.random_fleet(10, seed=1, preset="pvrp-p", num_vehicles=3)
    with pytest.raises(CheckpointError, match="no shipped camp checkpoint for pvrp-p"):
        nco.solve(preferences, solver="neural")
    from nco.neural import solve_neural

    with pytest.raises(CheckpointError, match="trained for the hcvrp preset, not for pvrp-p"):
        solve_neural(preferences, checkpoint=str(shipped_hcvrp))


def test_single_trip_fleets_get_the_classical_solvers_named():
    instance = pvrp.PVRPInstance.from_coords(np.random.default_rng(0).random((5, 2)), np.array([0, 1, 1, 1, 1]),
                                             np.array([2, 2]))
    with pytest.raises(InstanceError, match="classical solvers"):
        nco.solve(instance, solver="neural")


def test_cli_neural_ga_writes_a_checked_fleet_solution(shipped_hcvrp, tmp_path, capsys):
    from nco.cli import main

    out = tmp_path / "hcvrp.sol"
    assert main(["solve", "--problem", "hcvrp", "--num-vehicles", "3", "--num-nodes", "10", "--solver",
                 "neural+ga", "--time-limit", "3", "--out", str(out)]) == 0
    routes, vehicles, cost = read_fleet_solution(str(out))
    instance = pvrp.random_fleet(10, seed=0, preset="hcvrp", num_vehicles=3)  # the CLI's default seed
    assert instance.cost_of(routes, vehicles).objective == pytest.approx(cost, rel=1e-6)
    assert "neural+ga" in capsys.readouterr().out


def test_augmented_decoding_keeps_the_fleet_fields():
    """The symmetric copies of a fleet's batch keep its vehicles, preferences and zones (only the coordinates
    change), so every copy decodes the same instance."""
    from nco.envs.batch import from_instances
    from nco.policies.decoding import augment, symmetric_copy

    batch = from_instances(pvrp.random_pvrp(8, 3, "pvrp-zc", "pi", batch=2, seed=0))
    for copy in (augment(batch, 8), symmetric_copy(batch, 3)):
        assert copy.allowed is not None and copy.speed is not None and copy.weights is not None
    assert torch.equal(augment(batch, 8).allowed[::8], batch.allowed)
