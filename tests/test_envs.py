"""Environments: Gymnasium's checker, random legal rollouts accepted by the kernels' checker."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import nco  # noqa: F401  (registers nco/*)
from nco.data import CVRPInstance, TSPInstance, capacity_for, evaluate, random_cvrp, random_tsp
from nco.envs import make_env
from nco.envs.batch import from_instances
from nco.neural import routes_of


@pytest.mark.parametrize("env_id", ["nco/TSP-v0", "nco/CVRP-v0"])
@pytest.mark.parametrize("n", [5, 20])
def test_registered_envs_pass_the_gymnasium_checker(env_id, n):
    check_env(gym.make(env_id, num_nodes=n).unwrapped, skip_render_check=True)


def test_make_with_size_and_a_full_episode():
    env = gym.make("nco/CVRP-v0", num_nodes=50)
    obs, info = env.reset(seed=3)
    assert obs["nodes"].shape == (51, 3) and env.observation_space.contains(obs)
    rng, ret, done = np.random.default_rng(0), 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(rng.choice(np.flatnonzero(info["action_mask"])))
        ret += reward
    assert ret < 0 and obs["current"] == 0 and not obs["mask"][1:].any()


def test_illegal_action_is_a_flagged_no_op():
    env = gym.make("nco/TSP-v0", num_nodes=6)
    obs, _ = env.reset(seed=0)
    obs, _, _, _, _ = env.step(2)
    again, reward, done, _, info = env.step(2)
    assert info["illegal_action"] and reward == 0.0 and not done
    assert all(np.array_equal(obs[k], again[k]) for k in obs)


@pytest.mark.parametrize("env_id", ["nco/TSP-v0", "nco/CVRP-v0", "nco/PVRP-v0", "nco/HCVRP-v0"])
def test_vector_env_autoresets_and_stays_in_its_spaces(env_id):
    venv = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", num_nodes=8)
    obs, info = venv.reset(seed=1)
    rng, returns, ended = np.random.default_rng(1), np.zeros(3), 0
    for _ in range(60):
        acts = [rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in info["action_mask"]]
        obs, reward, term, trunc, info = venv.step(acts)
        assert venv.observation_space.contains(obs)
        returns += reward
        ended += int(term.sum())
    assert ended >= 6 and (returns < 0).all()


def test_cvrp_vector_env_episodes_after_autoreset_are_feasible_with_the_returned_cost():
    """Rows that restart get a new instance; its demands must govern their masks from the first step on
    (a per-row field left from the old instance would let a customer that no longer fits through)."""
    venv = gym.make_vec("nco/CVRP-v0", num_envs=4, vectorization_mode="vector_entry_point", num_nodes=8)
    obs, info = venv.reset(seed=3)
    rng, capacity = np.random.default_rng(3), capacity_for(8)
    episodes = [{"nodes": obs["nodes"][i].copy(), "actions": [], "return": 0.0} for i in range(4)]
    restarting, checked = np.zeros(4, bool), 0
    for _ in range(150):
        acts = [rng.choice(np.flatnonzero(m)) for m in info["action_mask"]]
        obs, reward, term, _, info = venv.step(acts)
        for i in range(4):
            if restarting[i]:  # next-step autoreset: the action was not used, a new episode begins
                episodes[i] = {"nodes": obs["nodes"][i].copy(), "actions": [], "return": 0.0}
                continue
            episodes[i]["actions"].append(int(acts[i]))
            episodes[i]["return"] += float(reward[i])
            if term[i]:
                nodes = episodes[i]["nodes"].astype(np.float64)
                instance = CVRPInstance(distance=np.linalg.norm(nodes[:, None, :2] - nodes[None, :, :2], axis=-1),
                                        demand=np.rint(nodes[:, 2] * capacity).astype(int), capacity=capacity)
                cost = evaluate(instance, routes_of("cvrp", torch.tensor(episodes[i]["actions"])))
                assert cost == pytest.approx(-episodes[i]["return"], rel=1e-4)
                checked += 1
        restarting = term.copy()
    assert checked >= 12


def _random_rollout(problem, instances, starts, seed):
    env = make_env(problem)
    state = env.reset(from_instances(instances), starts)
    gen = torch.Generator().manual_seed(seed)
    actions = []
    while not state.done:
        probs = state.mask.float()
        action = torch.multinomial(probs.view(-1, probs.shape[-1]), 1, generator=gen).view(probs.shape[:2])
        actions.append(action)
        state = env.step(state, action)
        if problem == "cvrp":  # the env counts the unserved customers instead of reducing ``visited``
            assert torch.equal(state.served_all, state.visited[..., 1:].all(-1))
    return torch.stack(actions, -1), state.length


def _asymmetric(instance):
    rng = np.random.default_rng(0)
    distance = instance.distance * rng.uniform(1, 2, instance.distance.shape)
    if instance.problem == "tsp":
        return TSPInstance(distance=distance, coords=instance.coords)
    return CVRPInstance(distance=distance, demand=instance.demand, capacity=instance.capacity, coords=instance.coords)


@given(seed=st.integers(0, 10**6), n=st.integers(2, 25), problem=st.sampled_from(["tsp", "cvrp"]),
       asymmetric=st.booleans())
@settings(max_examples=40, deadline=None)
def test_random_legal_actions_give_checked_solutions_with_the_same_cost(seed, n, problem, asymmetric):
    make = random_tsp if problem == "tsp" else random_cvrp
    kwargs = {} if problem == "tsp" else {"capacity": 15}
    instances = make(n, batch=3, seed=seed, **kwargs)
    if asymmetric:
        instances = [_asymmetric(i) for i in instances]
    actions, length = _random_rollout(problem, instances, starts=2, seed=seed)
    for b, instance in enumerate(instances):
        for s in range(2):
            cost = evaluate(instance, routes_of(problem, actions[b, s]))
            assert cost == pytest.approx(float(length[b, s]), rel=1e-5)
