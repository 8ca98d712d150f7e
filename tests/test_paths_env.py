"""The path-selection env and its policy: loads recomputed independently, the Gymnasium adapter, the policy's
actions legal in both modes, and the bad input the env refuses."""

import numpy as np
import pytest
import torch

from conftest import SHARED

from nco.data import InstanceError
from nco.data.generate import NumpySampler
from nco.data.paths import PathsInstance, draw, random_paths
from nco.envs.paths import PathSplitEnv, PathSplitGym, batch_of, make_batch


def _loads_by_hand(arrays, ratios):
    """Each link's load summed path by path, in NumPy: what the env's scatter must give."""
    network, tables = arrays["network"], arrays["traffic"]
    sources, targets = arrays["pairs"]
    load = np.zeros((len(tables), network.num_edges))
    for b, table in enumerate(tables):
        for d, (s, t) in enumerate(zip(sources, targets)):
            for j, path in enumerate(arrays["paths"][d]):
                for e in path:
                    load[b, e] += table[s, t] * ratios[b, d, j]
    return load / network.capacity


@pytest.mark.parametrize("mode", ["split", "single"])
def test_random_legal_actions_give_the_loads_of_an_independent_recomputation(mode):
    rng = np.random.default_rng(3)
    arrays = draw(NumpySampler(rng), 3, 9, k=3)
    batch = make_batch(arrays)
    counts = batch.valid.sum(1).numpy()
    if mode == "split":
        ratios = rng.uniform(size=(3, batch.num_demands, batch.num_paths)) * batch.valid.numpy()
        ratios /= ratios.sum(-1, keepdims=True)
        action = torch.as_tensor(ratios, dtype=torch.float32)
    else:
        choice = (rng.uniform(size=(3, batch.num_demands)) * counts).astype(int)
        ratios = np.eye(batch.num_paths)[choice]
        action = torch.as_tensor(choice)
    env = PathSplitEnv(mode)
    state = env.step(env.reset(batch), action[:, None])
    assert state.done
    util = _loads_by_hand(arrays, ratios)
    assert np.allclose(state.utilisation[:, 0].numpy(), util, rtol=1e-4)
    assert np.allclose(-state.reward[:, 0].numpy(), util.max(1), rtol=1e-4)


def test_the_env_matches_the_classical_uniform_split():
    from nco.solvers import paths as P

    instance = random_paths(10, seed=2)
    batch = batch_of(instance, 4, "weight")
    env = PathSplitEnv()
    state = env.step(env.reset(batch), env.start_actions(env.reset(batch)))
    paths = P.candidate_paths(instance, 4, "weight")
    assert float(-state.reward[0, 0]) == pytest.approx(P.uniform_split(instance, paths).mlu, rel=1e-5)


@pytest.mark.parametrize("mode", ["split", "single"])
def test_the_gymnasium_adapter_passes_check_env_and_reports_the_mlu(mode):
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    env = gym.make("nco/PathSplit-v0", mode=mode, num_nodes=7).unwrapped
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=4)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert terminated and not truncated and reward == pytest.approx(-info["mlu"])
    assert info["mlu"] == pytest.approx((info["load"] / env.network.capacity).max(), rel=1e-5)


@pytest.mark.parametrize("mode", ["split", "single"])
def test_the_policy_acts_legally_greedy_and_sampled(mode):
    from nco.policies import make_policy

    batch = make_batch(draw(NumpySampler(np.random.default_rng(0)), 2, 8))
    policy = make_policy("gnn", "paths")
    cache = policy.encode(batch)
    for greedy in (True, False):
        action, log_prob = policy.act(cache, 4, greedy, mode)
        if mode == "split":
            assert torch.allclose(action.sum(-1), torch.ones(2, 4, batch.num_demands))
            assert (action[..., ~batch.valid] == 0).all()
        else:
            assert (batch.valid.gather(1, action[0, 0][:, None])).all()
        assert log_prob.shape == (2, 4) and (log_prob != 0).any() != greedy


def test_bad_input_is_refused_by_name():
    instance = random_paths(6, seed=0)
    with pytest.raises(InstanceError, match="mode"):
        PathSplitEnv("fractional")
    env = PathSplitEnv()
    batch = batch_of(instance)
    state = env.step(env.reset(batch), env.start_actions(env.reset(batch)))
    with pytest.raises(InstanceError, match="already made"):
        env.step(state, env.start_actions(state))
    other = PathsInstance(random_paths(6, seed=1).network, instance.traffic)
    with pytest.raises(InstanceError, match="same network"):
        from nco.envs.batch import from_instances

        from_instances([instance, other])
    gym_env = PathSplitGym(instance)
    gym_env.reset(seed=0)
    with pytest.raises(InstanceError, match="action"):
        gym_env.step(-np.ones(gym_env.action_space.shape))


@pytest.mark.skipif(not (SHARED / "networks").exists(), reason="needs ../shared/data/networks")
def test_a_short_training_run_beats_ecmp_on_abilenes_real_traffic(tmp_path):
    """nco train paths on gravity traffic over Abilene's topology, then the real 5-minute matrices (never seen):
    the trained policy's MLU below ECMP's on every one (ECMP is about 2.4 times the optimum there)."""
    import glob

    from nco.data.paths import read_sndlib
    from nco.paths import route_learned
    from nco.solvers import paths as P
    from nco.training import train

    sndlib = SHARED / "networks" / "sndlib"
    topology = str(sndlib / "networks" / "abilene.xml")
    result = train("paths", num_nodes=12, topologies=[topology], max_steps=30, steps_per_epoch=30, val_size=16,
                   batch_size=8, num_samples=8, max_minutes=5, accelerator="cpu", out=str(tmp_path))
    instance = read_sndlib(topology, sorted(glob.glob(str(sndlib / "demand_samples/directed-abilene*/*.xml")))[:4])
    learned = route_learned(instance, result["policy"])
    for t, routing in enumerate(learned):
        assert routing.mlu < P.solve_network(instance, "ecmp", t).mlu


def test_training_on_the_satisfied_objective_maximises_the_share_carried(tmp_path):
    """nco train paths --objective satisfied: the validation cost is minus the share carried (in [-1, 0)
    on random networks at this load), the record says which reward it learned; other problems, or an
    unknown reward, are refused naming the field."""
    from nco.data import InstanceError, SolverError
    from nco.train_config import TrainConfig
    from nco.training import train

    result = train("paths", num_nodes=10, objective="satisfied", max_steps=4, steps_per_epoch=4, val_size=8,
                   batch_size=4, num_samples=4, max_minutes=3, accelerator="cpu", out=str(tmp_path))
    assert result["objective"] == "satisfied" and -1.0 <= result["val_cost"] < 0.0
    with pytest.raises(SolverError, match="objective: the CVRP's environment has one reward"):
        TrainConfig(problem="cvrp", objective="satisfied")
    with pytest.raises(InstanceError, match="field 'objective'"):
        TrainConfig(problem="paths", objective="latency")


def _carried_by_hand(arrays, ratios):
    """Each path's flow cut to its most loaded link's capacity over load, summed, over the total: in NumPy."""
    network, tables = arrays["network"], arrays["traffic"]
    sources, targets = arrays["pairs"]
    util = _loads_by_hand(arrays, ratios)
    share, cut_load = np.zeros(len(tables)), np.zeros((len(tables), network.num_edges))
    for b, table in enumerate(tables):
        for d, (s, t) in enumerate(zip(sources, targets)):
            for j, path in enumerate(arrays["paths"][d]):
                flow = table[s, t] * ratios[b, d, j] / max(1.0, *(util[b, e] for e in path))
                share[b] += flow
                cut_load[b, list(path)] += flow
        share[b] /= table[sources, targets].sum()
    return share, cut_load / network.capacity


@pytest.mark.parametrize("mode", ["split", "single"])
def test_the_satisfied_objective_carries_what_fits_and_no_more_than_the_max_flow_lp(mode):
    """Random routings of overloaded matrices: the carried share equals a path-by-path recomputation, the cut
    flows fit every link, and no routing carries more than the max-satisfied-flow LP on the same paths; a
    matrix scaled to fit entirely is carried whole."""
    from nco.solvers import paths as P

    rng = np.random.default_rng(5)
    instance = random_paths(9, seed=3)
    paths = P.candidate_paths(instance, 3, "weight")
    mlu = P.optimal_mlu(instance, paths).mlu
    env = PathSplitEnv(mode, "satisfied")
    for scale, whole in ((2.5 / mlu, False), (0.9 / mlu, True)):
        scaled = PathsInstance(instance.network, instance.traffic * scale)
        best = P.max_satisfied_flow(scaled, paths).satisfied
        batch = batch_of(scaled, 3, "weight")
        arrays = {"network": scaled.network, "traffic": scaled.traffic[:1], "pairs": scaled.demands(None)[:2],
                  "paths": paths}
        starts = 6
        if mode == "split":
            ratios = rng.uniform(size=(starts, batch.num_demands, batch.num_paths)) * batch.valid.numpy()
            ratios /= ratios.sum(-1, keepdims=True)
            action = torch.as_tensor(ratios, dtype=torch.float32)
        else:
            choice = (rng.uniform(size=(starts, batch.num_demands)) * batch.valid.sum(1).numpy()).astype(int)
            ratios, action = np.eye(batch.num_paths)[choice], torch.as_tensor(choice)
        state = env.step(env.reset(batch, starts), action[None])
        share = state.reward[0].numpy()
        for r in range(starts):
            expected, cut = _carried_by_hand(arrays, ratios[r][None])
            assert share[r] == pytest.approx(expected[0], rel=1e-4)
            assert cut.max() <= 1 + 1e-4
        assert (share <= best + 1e-4).all()
        assert not whole or best == pytest.approx(1.0, abs=1e-6)
    env = PathSplitEnv("split", "satisfied")
    even = env.step(env.reset(batch), env.start_actions(env.reset(batch)))
    if float(even.utilisation.max()) <= 1:  # the optimum's scale can leave even splits within capacity
        assert float(even.reward[0, 0]) == pytest.approx(1.0, abs=1e-6)


def test_the_gymnasium_adapter_rewards_the_carried_share():
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    env = gym.make("nco/PathSplit-v0", objective="satisfied", num_nodes=7).unwrapped
    check_env(env, skip_render_check=True)
    env.reset(seed=1)
    _, reward, *_, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(info["satisfied"]) and 0 < reward <= 1
    assert reward == pytest.approx(1.0) or info["mlu"] > 1
    with pytest.raises(InstanceError, match="objective"):
        PathSplitEnv(objective="throughput")
