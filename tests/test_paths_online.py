"""The online path-selection env (``nco/FlowArrival-v0``): loads recomputed from the flows in the network by an
independent route, admission, departures and arrival rates against queueing theory, the routers, the learned
router's checkpoint, the Gymnasium adapter, ``nco route-flows`` and the bad input they refuse."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from conftest import SHARED

from nco.cli import main
from nco.data import InstanceError
from nco.data.paths import all_pairs_paths, random_network, read_sndlib, traffic
from nco.envs.paths_online import FlowArrivalEnv, flows_on, instance_flows, path_features
from nco.paths_online import ROUTERS, LearningAutomata, load_scorer, save_scorer, simulate, train_scorer
from nco.policies.paths_online import PathScorer


def _network(seed=1, nodes=9, k=3):
    network = random_network(np.random.default_rng(seed), nodes)
    net, volume = flows_on(network, traffic(np.random.default_rng(seed), network, 3), k)
    return network, net, volume


def _load_by_hand(network, k, state):
    """Each link's load summed over the flows in the network, each walking its path's edge list (not the
    simulator's incidence matrix)."""
    _, paths = all_pairs_paths(network, k, "weight")
    load = np.zeros((state.episodes, network.num_edges))
    for b in range(state.episodes):
        for slot, size, end in zip(state.flow_slot[b].tolist(), state.flow_size[b].tolist(),
                                   state.flow_end[b].tolist()):
            if np.isfinite(end):
                for e in paths[slot // k][slot % k]:
                    load[b, e] += size
    return load


def test_random_actions_keep_the_loads_of_the_flows_in_the_network_and_admit_only_what_fits():
    network, net, volume = _network()
    env = FlowArrivalEnv(flows=15, intensity=1.6, period=0.3)
    state = env.reset(net, volume, torch.Generator().manual_seed(0))
    rng = np.random.default_rng(0)
    capacity = net.capacity.numpy()  # in the simulator's units (mean capacity 1)
    rejected = 0
    for _ in range(400):
        action = torch.as_tensor(rng.integers(0, net.num_paths, state.episodes))
        before = _load_by_hand(network, net.num_paths, state)
        path = state.paths()[torch.arange(state.episodes), action].numpy()
        fits = ((before + state.size.numpy()[:, None] * path <= capacity * (1 + 1e-9)) | (path == 0)).all(1)
        expected = fits & state.mask[torch.arange(state.episodes), action].numpy()
        time_before = state.time.clone()
        state, reward, info = env.step(state, action)
        assert (info["accepted"].numpy() == expected).all()
        rejected += int((~expected).sum())
        np.testing.assert_allclose(state.load.numpy(), _load_by_hand(network, net.num_paths, state), atol=1e-9)
        assert (state.load.numpy() <= capacity * (1 + 1e-9)).all()
        assert (state.time > time_before).all()
        live = torch.isfinite(state.flow_end)
        assert (state.flow_end[live] > state.time[:, None].expand_as(live)[live]).all()  # who is due has left
        assert torch.isfinite(reward).all() and (reward < 0).all()
        refreshed = state.seen_at == state.time
        assert torch.equal(state.telemetry[refreshed], state.load[refreshed])
        assert (state.sent[refreshed] == 0).all()
    assert rejected > 0  # the intensity is high enough for random routing to reject some flows
    assert int(state.rejected.sum()) == rejected and int(state.arrivals.sum()) == 400 * state.episodes


def test_flows_in_the_network_average_the_arrival_rate_times_the_holding_time():
    """M/G/inf with no rejections (a light load): the mean number of flows seen by arrivals is ``flows``
    (Little's law; PASTA), and the rescaled mean traffic on shortest paths has the asked intensity."""
    _, net, volume = _network(seed=2)
    env = FlowArrivalEnv(flows=20, intensity=0.1, warmup=300)
    state = env.reset(net, volume, torch.Generator().manual_seed(1))
    first = net.incidence.reshape(net.num_demands, net.num_paths, -1)[:, 0]
    mean_traffic = state.rates * state.mean_size[:, None]
    np.testing.assert_allclose(((mean_traffic @ first) / net.capacity).amax(-1).numpy(), 0.1)
    counts = []
    for step in range(3300):
        if step >= 300:
            counts.append(torch.isfinite(state.flow_end).sum(1).double())
        state, _, info = env.step(state, torch.zeros(state.episodes, dtype=torch.long))
    assert int(state.rejected.sum()) == 0
    assert abs(torch.stack(counts).mean().item() - 20) < 1.5  # 9,000 correlated samples of Poisson(20)


def test_shared_arrivals_differ_only_by_the_decisions():
    _, net, volume = _network(seed=3)
    env = FlowArrivalEnv(flows=10)
    state = env.reset(net, volume[:1].expand(4, -1), torch.Generator().manual_seed(2), shared=True)
    for _ in range(50):
        assert (state.demand == state.demand[0]).all() and (state.size == state.size[0]).all()
        state, _, _ = env.step(state, torch.tensor([0, 0, 1, 2]) % state.mask.sum(1))
    assert torch.equal(state.load[0], state.load[1]) and not torch.equal(state.load[0], state.load[3])


@pytest.mark.parametrize("router", ROUTERS)
def test_every_router_routes_a_simulation(router):
    _, net, volume = _network(seed=4)
    policy = PathScorer() if router == "learned" else None
    result = simulate(net, volume, router, FlowArrivalEnv(flows=10, intensity=1.3, warmup=50), 200, policy=policy)
    assert result.mlu.shape == (3,) and (result.mlu > 0).all() and (result.mlu <= 1 + 1e-9).all()
    assert ((result.rejection >= 0) & (result.rejection <= 1)).all() and result.seconds > 0


def test_learning_automata_stay_distributions_over_the_valid_paths():
    _, net, volume = _network(seed=5, k=4)
    env = FlowArrivalEnv(flows=10, intensity=1.2)
    state = env.reset(net, volume, torch.Generator().manual_seed(3))
    automata = LearningAutomata.uniform(net, state.episodes)
    start = automata.p.clone()
    for _ in range(300):
        action = automata.act(state)
        before = state
        state, _, info = env.step(state, action)
        automata.learn(before, action, info["accepted"])
    np.testing.assert_allclose(automata.p.sum(-1).numpy(), 1.0)
    assert (automata.p >= 0).all() and (automata.p[:, ~net.valid] == 0).all()
    assert not torch.allclose(automata.p, start)


def test_path_features_are_finite_and_zero_on_empty_slots():
    _, net, volume = _network(seed=6, k=4)
    env = FlowArrivalEnv(flows=10)
    state = env.reset(net, volume, torch.Generator().manual_seed(4))
    for _ in range(30):
        state, _, _ = env.step(state, torch.zeros(state.episodes, dtype=torch.long))
        features = path_features(state)
        assert torch.isfinite(features).all()
        assert (features[~state.mask] == 0).all()


def test_training_improves_on_the_untrained_router_and_the_checkpoint_round_trips(tmp_path):
    """A few REINFORCE iterations on small networks; the trained scorer (greedy) rejects fewer flows than
    the untrained one it started from on held-out traffic, and loads back to the same decisions."""
    model, history = train_scorer(iterations=12, sizes=(8, 9), episodes=8, horizon=150, seed=0, progress=False,
                                  env_options={"flows": 20})
    assert len(history) == 12 and all(np.isfinite(h["reward"]) for h in history)
    path = save_scorer(tmp_path / "scorer.pt", model, {"iterations": 12})
    loaded = load_scorer(path)
    network = random_network(np.random.default_rng(99), 10)
    net, volume = flows_on(network, traffic(np.random.default_rng(99), network, 4), 4)
    env = FlowArrivalEnv(flows=20, intensity=1.3, period=0.5, warmup=100)
    trained = simulate(net, volume, "learned", env, 600, policy=model)
    again = simulate(net, volume, "learned", env, 600, policy=loaded)
    np.testing.assert_array_equal(trained.mlu, again.mlu)
    torch.manual_seed(0)  # the initial weights training started from (its seed)
    before = simulate(net, volume, "learned", env, 600, policy=PathScorer().eval())
    score = trained.rejection.mean() + trained.mlu.mean()
    assert score < before.rejection.mean() + before.mlu.mean()


def test_the_shipped_router_beats_shortest_paths_on_abilenes_real_matrices():
    sndlib = SHARED / "networks" / "sndlib"
    matrices = sorted((sndlib / "demand_samples").glob("directed-abilene*/*.xml"))[:4]
    net, volume = instance_flows(read_sndlib(sndlib / "networks" / "abilene.xml", matrices), 4)
    env = FlowArrivalEnv(flows=50, intensity=1.2, period=1.0, warmup=300)
    learned = simulate(net, volume, "learned", env, 1200)
    shortest = simulate(net, volume, "shortest", env, 1200)
    assert learned.mlu.mean() < shortest.mlu.mean() and learned.rejection.mean() < shortest.rejection.mean()


def test_a_foreign_checkpoint_is_refused_with_what_it_is(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"format": "nco-policy", "state_dict": {}}, path)
    with pytest.raises(Exception, match="not an nco flow router"):
        load_scorer(path)


def test_the_gymnasium_adapter_passes_the_checker_and_truncates_at_its_horizon():
    env = gym.make("nco/FlowArrival-v0", num_nodes=7, horizon=25, disable_env_checker=True)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs["paths"].shape == (3, env.unwrapped.net.num_edges)
    for t in range(25):
        obs, reward, terminated, truncated, info = env.step(int(np.argmax(obs["valid"])))
        assert not terminated and truncated == (t == 24) and reward < 0
    with pytest.raises(InstanceError, match="action"):
        env.step(7)


def test_bad_input_is_refused_naming_the_field():
    _, net, volume = _network(seed=7)
    env = FlowArrivalEnv()
    with pytest.raises(InstanceError, match="volume"):
        env.reset(net, volume[:, :-1])
    with pytest.raises(InstanceError, match="volume"):
        env.reset(net, -volume)
    state = env.reset(net, volume)
    with pytest.raises(InstanceError, match="action"):
        env.step(state, torch.full((state.episodes,), net.num_paths))
    with pytest.raises(InstanceError, match="action"):
        env.step(state, torch.zeros(state.episodes + 1, dtype=torch.long))
    for options in ({"flows": 0}, {"intensity": -1.0}, {"period": float("nan")}, {"delay_weight": -0.1}):
        with pytest.raises(InstanceError, match=next(iter(options))):
            FlowArrivalEnv(**options)
    with pytest.raises(InstanceError, match="router"):
        simulate(net, volume, "fastest", env, 10)


def test_route_flows_prints_every_router_and_refuses_an_unknown_one(capsys):
    abilene = SHARED / "networks" / "sndlib" / "networks" / "abilene.xml"
    assert main(["route-flows", str(abilene), "--routers", "shortest,least-loaded,automata", "--arrivals", "300",
                 "--warmup", "100"]) == 0
    out = capsys.readouterr().out
    assert all(router in out for router in ("shortest", "least-loaded", "automata")) and "time-avg MLU" in out
    assert main(["route-flows", str(abilene), "--routers", "shortest,fastest"]) == 2
    assert "fastest" in capsys.readouterr().err
    assert main(["route-flows", str(abilene), "--arrivals", "100", "--warmup", "100"]) == 2
