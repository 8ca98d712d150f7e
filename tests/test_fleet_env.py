"""The fleet environment (PVRP, HCVRP): Gymnasium's checker, and random legal rollouts in both decoding modes
that the instance's checker accepts at the cost the env reports."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import nco  # noqa: F401  (registers nco/*)
from nco.data import InstanceError, pvrp
from nco.data.pvrp import PVRPInstance
from nco.envs.batch import from_instances, random_batch
from nco.envs.pvrp import PVRPEnv, solution_of
from nco.policies import make_policy
from nco.policies.decoding import rollout


@pytest.mark.parametrize("env_id, options", [("nco/PVRP-v0", {}), ("nco/HCVRP-v0", {"num_vehicles": 5}),
                                             ("nco/PVRP-v0", {"preset": "pvrp-zc", "distribution": "pi"})])
def test_fleet_envs_pass_the_gymnasium_checker_without_warnings(env_id, options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(env_id, num_nodes=10, **options).unwrapped, skip_render_check=True)
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]


def test_a_gymnasium_episode_returns_minus_the_checked_cost():
    env = gym.make("nco/HCVRP-v0", num_nodes=12, num_vehicles=3)
    obs, info = env.reset(seed=5)
    rng, ret, done, actions = np.random.default_rng(0), 0.0, False, []
    nodes, vehicles = obs["nodes"].astype(np.float64), obs["vehicles"].astype(np.float64)
    while not done:
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        actions.append(action)
        obs, reward, done, _, info = env.step(action)
        ret += reward
    scale = 1000.0  # the env's demands are fractions of the largest capacity: any common unit will do
    instance = PVRPInstance.from_coords(nodes[:, :2], np.rint(nodes[:, 2] * scale), np.rint(vehicles[:, 0] * scale),
                                        speed=vehicles[:, 1], multi_trip=True, objective="min-max")
    routes, used = solution_of(actions, 13, 3)
    assert instance.cost_of(routes, used).objective == pytest.approx(-ret, rel=1e-4)


def _instances(preset: str, pattern: str, n: int, m: int, seed: int) -> list[PVRPInstance]:
    return pvrp.random_fleet(n, batch=3, seed=seed, preset=preset, num_vehicles=m, distribution=pattern)


def _random_rollout(env: PVRPEnv, instances: list[PVRPInstance], starts: int, seed: int):
    state = env.reset(from_instances(instances), starts)
    gen = torch.Generator().manual_seed(seed)
    taken = []
    while not state.done:
        mask = state.mask
        assert mask.any(-1).all()  # never a vehicle (parallel) or a rollout (sequential) without a move
        flat = mask.float().flatten(0, -2)
        action = torch.multinomial(flat, 1, generator=gen).view(mask.shape[:-1])
        env.step(state, action)
        taken.append(state.carried_out if env.parallel else action)
        assert state.steps <= 3 * sum(i.size for i in instances[:1]) + 10  # progress: it ends
    return torch.stack(taken, -1), state.length


CASES = [("hcvrp", "uniform"), ("pvrp-p", "random"), ("pvrp-p", "pi"), ("pvrp-p", "cluster"), ("pvrp-zc", "random"),
         ("pvrp-zc", "pi")]


@given(seed=st.integers(0, 10**6), n=st.integers(2, 20), m=st.integers(1, 6), case=st.sampled_from(CASES),
       mode=st.sampled_from(["sequential", "parallel"]))
@settings(max_examples=40, deadline=None)
def test_random_legal_actions_give_checked_solutions_with_the_same_cost(seed, n, m, case, mode):
    instances = _instances(*case, n, m, seed)
    env = PVRPEnv(mode)
    taken, length = _random_rollout(env, instances, starts=2, seed=seed)
    for b, instance in enumerate(instances):
        for s in range(2):
            routes, vehicles = solution_of(taken[b, s], n + 1, m, env.parallel)
            cost = instance.cost_of(routes, vehicles)  # every constraint checked: once, allowed, capacity
            assert cost.objective == pytest.approx(float(length[b, s]), rel=1e-4, abs=1e-5)


def test_parallel_conflicts_go_to_the_first_to_arrive_and_the_others_wait():
    instance = PVRPInstance.from_coords(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 1]),
                                        np.array([5, 5]), speed=np.array([0.5, 1.0]), multi_trip=True)
    env = PVRPEnv("parallel")
    state = env.reset(from_instances([instance]))
    env.step(state, torch.tensor([[[1, 1]]]))  # both want customer 1: the faster vehicle 1 gets it
    assert state.carried_out.tolist() == [[[0, 1]]] and state.served.item() == 1
    assert state.mask[0, 0, 0].tolist() == [True, False, True]  # vehicle 0 may now wait or take customer 2


def test_sequential_home_run_has_one_choice_a_step():
    """Once every customer is served the vehicles go home one at a time, so the finish adds nothing to the
    log-probability (a step with several equal choices would)."""
    instances = _instances("hcvrp", "uniform", 6, 4, 0)
    env = PVRPEnv("sequential")
    state = env.reset(from_instances(instances))
    while not bool(state.served_all.all()):
        mask = state.mask
        env.step(state, mask.float().flatten(0, 1).multinomial(1).view(mask.shape[:2]))
    while not state.done:
        assert (state.mask.sum(-1) == 1).all()
        env.step(state, state.mask.float().argmax(-1))


def test_single_trip_fleets_are_refused_by_the_env():
    instance = PVRPInstance.from_coords(np.random.default_rng(0).random((5, 2)), np.array([0, 1, 1, 1, 1]),
                                        np.array([2, 2]))
    with pytest.raises(InstanceError, match="multi_trip"):
        from_instances([instance])


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_the_policy_decodes_checked_solutions_in_either_mode(mode):
    torch.manual_seed(0)
    policy = make_policy("camp", "pvrp", embed_dim=32, num_heads=4, num_layers=1, ff_hidden=64)
    instances = _instances("pvrp-zc", "pi", 15, 4, 2)
    env = PVRPEnv(mode)
    result = rollout(policy, env, from_instances(instances), "sample", num_starts=2)
    assert result.log_prob.shape == (3, 2) and bool((result.log_prob < 0).all())
    for b, instance in enumerate(instances):
        routes, vehicles = solution_of(result.actions[b, 0], 16, 4, env.parallel)
        assert instance.cost_of(routes, vehicles).objective == pytest.approx(-float(result.reward[b, 0]), rel=1e-4)


def test_training_draws_every_preset_on_the_device():
    for preset in pvrp.PRESETS:
        batch = random_batch("pvrp", 10, 4, preset=preset, num_vehicles=3)
        assert batch.capacity.shape == (4, 3) and batch.allowed.shape == (4, 3, 11)
        assert bool(batch.allowed[:, :, 1:].any(1).all())  # every customer has a vehicle
