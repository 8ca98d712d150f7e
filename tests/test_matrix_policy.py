"""The matrix-aware policy, city training pools, and how the neural solver picks its policy."""

import numpy as np
import pytest
import torch

import nco
from nco.checkpoints import CheckpointError, shipped
from nco.data import City, CVRPInstance, InstanceError, TSPInstance, evaluate, load_city, random_cvrp, random_tsp
from nco.envs import make_env
from nco.envs.batch import from_instances
from nco.envs.cities import CityPool
from nco.neural import decode, policy_kind, routes_of
from nco.policies import make_policy
from nco.policies.decoding import rollout
from nco.policies.matrix import node_features, pair_features
from nco.training import train


def matrix_policy(problem: str, seed: int = 0):
    """A matrix-aware policy whose matrix-reading weights are random (they start at zero)."""
    torch.manual_seed(seed)
    policy = make_policy("matrix", problem, num_layers=2).eval()
    with torch.no_grad():
        for layer in [policy.node_stats, *policy.pair_bias]:
            layer.weight.normal_(0, 0.5)
        policy.distance_weight.fill_(-1.0)
    return policy


@pytest.mark.parametrize("problem", ["tsp", "cvrp"])
def test_a_pomo_start_computes_exactly_what_pomo_computes(problem):
    pomo = make_policy("pomo", problem, num_layers=2).eval()
    policy = make_policy("matrix", problem, num_layers=2).eval()
    policy.load_pomo(pomo.state_dict())
    instances = random_tsp(15, batch=3, seed=1) if problem == "tsp" else random_cvrp(12, batch=3, seed=1)
    batch, env = from_instances(instances), make_env(problem)
    with torch.no_grad():
        a = rollout(pomo, env, batch, "greedy", num_starts=5, multistart=True)
        b = rollout(policy, env, batch, "greedy", num_starts=5, multistart=True)
    assert torch.equal(a.actions, b.actions) and torch.allclose(a.log_prob, b.log_prob, atol=1e-5)
    with pytest.raises(ValueError, match="not a POMO state"):
        policy.load_pomo(make_policy("am", problem).state_dict())


def test_pair_and_node_features_read_the_matrix_in_both_directions():
    dist = torch.tensor([[[0.0, 1.0, 4.0], [2.0, 0.0, 3.0], [5.0, 6.0, 0.0]]])
    coords = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]])
    batch = nco.envs.Batch("tsp", dist, coords)
    pairs = pair_features(batch, dist)
    assert pairs[0, 0, 1].tolist() == pytest.approx([1.0, 2.0, 1.0, 0.0])  # d(0,1), d(1,0), bearing east
    assert pairs[0, 2, 0].tolist() == pytest.approx([5.0, 4.0, 0.0, -1.0])  # bearing south
    nodes = node_features("tsp", dist)
    assert nodes[0, 0].tolist() == pytest.approx([2.5, 3.5, 1.0, 2.0])  # mean out, mean in, nearest out, in
    no_coords = pair_features(nco.envs.Batch("tsp", dist), dist)
    assert torch.equal(no_coords[..., 2:], torch.zeros(1, 3, 3, 2))


def test_the_policy_sees_the_direction_of_arcs_and_relabelling_commutes():
    instance = load_city("monaco").sample(12, "tsp", seed=3)
    batch = from_instances([instance])
    policy = matrix_policy("tsp")
    with torch.no_grad():
        h = policy.encode(batch).nodes
        reversed_ = nco.envs.Batch("tsp", batch.dist.transpose(1, 2).contiguous(), batch.coords)
        assert not torch.allclose(h, policy.encode(reversed_).nodes, atol=1e-4)
        perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
        relabelled = nco.envs.Batch("tsp", batch.dist[:, perm][:, :, perm], batch.coords[:, perm])
        assert torch.allclose(policy.encode(relabelled).nodes, h[:, perm], atol=1e-3)


@pytest.mark.parametrize("problem", ["tsp", "cvrp"])
def test_matrix_policy_decodes_instances_without_coordinates(problem):
    city = load_city("monaco")
    instance = city.sample(14, problem, "duration", seed=2)
    bare = (TSPInstance(instance.distance) if problem == "tsp"
            else CVRPInstance(instance.distance, instance.demand, instance.capacity))
    policy = matrix_policy(problem)
    for item in (instance, bare):
        batch = from_instances([item])
        out = decode(policy, {"problem": problem, "policy": "matrix"}, batch, "multistart", augment_factor=8)
        assert evaluate(item, routes_of(problem, out.actions[0])) == pytest.approx(float(out.cost[0]), rel=1e-5)


def test_city_pool_draws_subsets_of_real_matrices():
    monaco = load_city("monaco")
    pool = CityPool([monaco, load_city("helsinki")])
    batch = pool.sample("cvrp", 30, 40, torch.Generator().manual_seed(0))
    assert batch.dist.shape == (40, 31, 31) and batch.coords.shape == (40, 31, 2)
    off = ~torch.eye(31, dtype=torch.bool)
    assert torch.allclose(batch.dist[:, off].mean(1), torch.ones(40), atol=1e-4)  # mean arc 1
    assert float(batch.coords.min()) == 0.0 and float(batch.coords.max()) == 1.0
    assert not torch.allclose(batch.dist, batch.dist.transpose(1, 2))  # real roads are asymmetric
    assert bool((batch.demand[:, 0] == 0).all()) and float(batch.demand[:, 1:].min()) > 0
    with pytest.raises(InstanceError, match="at most 1000 nodes"):
        pool.sample("tsp", 1001, 2)


def test_city_pool_instances_are_the_city_matrices_relabelled_and_scaled():
    monaco = load_city("monaco")
    keep = np.arange(8)
    small = City("small", monaco.coords[keep], monaco.distance[np.ix_(keep, keep)],
                 monaco.duration[np.ix_(keep, keep)])
    batch = CityPool([small]).sample("tsp", 8, 6, torch.Generator().manual_seed(4))  # every point, shuffled
    unit = (small.coords - small.coords.min(0)) / (small.coords.max(0) - small.coords.min(0)).max()
    objectives = set()
    for b in range(6):
        # Each sampled point is one of the city's, found back by its unit-square coordinates.
        pick = np.abs(batch.coords[b].numpy()[:, None] - unit[None]).sum(-1).argmin(1)
        assert sorted(pick) == list(range(8))
        for k, matrix in enumerate((small.distance, small.duration)):
            sub = matrix[np.ix_(pick, pick)]
            if np.allclose(batch.dist[b].numpy(), sub / sub.sum() * 56, rtol=1e-4):
                objectives.add(k)
                break
        else:
            pytest.fail(f"instance {b} is not a relabelled city matrix")
    assert objectives == {0, 1}  # both objectives are drawn


def test_training_on_cities_from_a_pomo_start(tmp_path):
    result = train("tsp", num_nodes=10, policy="matrix", max_minutes=0.15, out=tmp_path, accelerator="cpu",
                   steps_per_epoch=5, val_size=20, val_batch_size=20, batch_size=8, cities=["monaco"],
                   init=str(shipped("tsp", 20)))
    assert result["instances"] == "cities: monaco" and result["instances_seen"] > 0
    with pytest.raises(CheckpointError, match="cannot start a matrix policy"):
        train("tsp", num_nodes=10, policy="matrix", max_minutes=0.1, out=tmp_path / "b", accelerator="cpu",
              init=str(shipped("tsp", 20, "ptrnet")))


def test_the_neural_solver_picks_the_matrix_policy_for_road_instances():
    assert policy_kind(random_tsp(10, seed=0)) == "pomo"
    road = load_city("monaco").sample(20, "cvrp", seed=1)
    assert policy_kind(road) == "matrix"
    bare = CVRPInstance(road.distance, road.demand, road.capacity)
    assert policy_kind(bare) == "matrix"
    solution = nco.solve(bare, "neural")
    assert solution.cost == pytest.approx(evaluate(bare, solution.routes))
    hybrid = nco.solve(road, "neural+ga", time_limit=0.5)
    assert hybrid.cost == pytest.approx(evaluate(road, hybrid.routes))
