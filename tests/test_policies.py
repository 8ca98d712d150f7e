"""Policies, decoding, policy files and the neural solver."""

import warnings

import pytest
import torch

import nco
from nco.checkpoints import CheckpointError, load_policy, save_policy, shipped
from nco.cli import main
from nco.data import evaluate, random_cvrp, random_tsp, read_solution
from nco.envs import make_env
from nco.envs.batch import from_instances
from nco.neural import decode, routes_of
from nco.policies import make_policy
from nco.data import SolverError
from nco.policies.decoding import GPU_DONE_EVERY, PROJECT_AFTER, Deadline, OutOfTime, augment, rollout, sample


@pytest.mark.parametrize("problem, name", [("tsp", "am"), ("tsp", "pomo"), ("tsp", "ptrnet"), ("cvrp", "am"),
                                           ("cvrp", "pomo"), ("tsp", "matrix"), ("cvrp", "matrix")])
@pytest.mark.parametrize("how", ["greedy", "sample", "multistart"])
def test_every_decoding_gives_checked_solutions(problem, name, how):
    if name == "ptrnet" and how == "multistart":
        pytest.skip("the pointer network picks its own first city")
    torch.manual_seed(0)
    instances = random_tsp(12, batch=3, seed=1) if problem == "tsp" else random_cvrp(10, batch=3, seed=1)
    policy = make_policy(name, problem).eval()
    meta = {"problem": problem, "policy": name}
    for factor in (1, 8):
        out = decode(policy, meta, from_instances(instances), how, factor, samples=4)
        for b, instance in enumerate(instances):
            assert evaluate(instance, routes_of(problem, out.actions[b])) == pytest.approx(float(out.cost[b]), rel=1e-5)


def test_augmentation_keeps_distances():
    batch = from_instances(random_tsp(15, batch=2, seed=2))
    aug = augment(batch, 8)
    assert torch.allclose(torch.cdist(aug.coords, aug.coords), aug.dist, atol=1e-5)
    assert aug.size == 16 and torch.equal(aug.coords[0], batch.coords[0])


def test_policy_files_round_trip_and_refuse_the_wrong_problem(tmp_path):
    policy = make_policy("pomo", "tsp").eval()
    path = save_policy(tmp_path / "p.pt", policy, "pomo", "tsp", 20, training={"minutes": 1.0})
    loaded, meta = load_policy(path)
    batch = from_instances(random_tsp(20, batch=2, seed=3))
    with torch.no_grad():
        a = decode(policy, meta, batch, "multistart").cost
        b = decode(loaded, meta, batch, "multistart").cost
    assert torch.equal(a, b) and meta["training"]["minutes"] == 1.0
    assert oct(path.stat().st_mode & 0o777) != "0o600"
    with pytest.raises(CheckpointError, match="not for CVRP"):
        load_policy(path, problem="cvrp")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint: expected a policy file"):
        load_policy(bad)
    torn = tmp_path / "torn.pt"  # a zip archive cut short, as an interrupted copy leaves it
    torn.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="torn.pt: not a readable checkpoint"):
        load_policy(torn)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_policy(tmp_path / "missing.pt")


def test_shipped_checkpoints_cover_the_issue_list():
    for problem in ("tsp", "cvrp"):
        for n in (20, 50, 100):
            assert shipped(problem, n).name == f"{problem}-pomo-{n}.pt"
    assert shipped("tsp", 70).name == "tsp-pomo-50.pt" and shipped("tsp", 500).name == "tsp-pomo-100.pt"
    for name in ("am", "ptrnet"):
        _, meta = load_policy(shipped("tsp", 20, name))
        assert meta["policy"] == name and meta["training"]["instances_seen"] > 0


def test_neural_solver_on_tsplib_writes_a_valid_tour(shared, tmp_path):
    out = tmp_path / "t.tour"
    assert main(["solve", str(shared / "tsplib/kroA100.tsp"), "--solver", "neural", "--out", str(out)]) == 0
    routes, _ = read_solution(out)
    assert sorted([0, *routes[0]]) == list(range(100))


def test_neural_solver_beats_nearest_neighbour_on_cvrp():
    instance = random_cvrp(50, seed=9)
    assert nco.solve(instance, "neural").cost < nco.solve(instance, "nearest").cost


def test_coordinate_policies_refuse_matrix_only_instances():
    from nco.neural import solve_neural

    instance = random_tsp(20, seed=0)
    matrix_only = nco.TSPInstance(distance=instance.distance)
    with pytest.raises(nco.InstanceError, match="coordinates"):
        solve_neural(matrix_only, checkpoint=str(shipped("tsp", 20)))
    assert nco.solve(matrix_only, "neural").cost > 0  # the matrix-aware policy takes it


def test_eval_cli_and_a_foreign_checkpoint(tmp_path, capsys):
    assert main(["eval", str(shipped("tsp", 20)), "--instances", "20", "--device", "cpu"]) == 0
    assert "Concorde" in capsys.readouterr().out
    foreign = tmp_path / "f.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    assert main(["eval", str(foreign)]) == 2
    assert "not an nco policy" in capsys.readouterr().err


def test_eval_on_instance_files(shared, capsys):
    files = [str(shared / f"tsplib/{name}.tsp") for name in ("kroA100", "kroB100", "kroC100")]
    assert main(["eval", str(shipped("tsp", 100)), "--file", *files, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "3 instances" in out and "Concorde" not in out  # no published reference for files
    # the mean is in the files' own units (TSPLIB kroX100 optima are about 21,000), not the unit square
    from nco.evaluation import evaluate_policy

    result = evaluate_policy(str(shipped("tsp", 100)), files=files, device="cpu")
    assert result["instances"] == 3 and 20_000 < result["mean_cost"] < 40_000


def test_the_neural_solver_reuses_a_loaded_policy_until_its_file_changes(tmp_path):
    from nco.neural import solve_neural

    instance = random_tsp(20, seed=5)
    path = tmp_path / "p.pt"
    torch.manual_seed(0)
    save_policy(path, make_policy("pomo", "tsp").eval(), "pomo", "tsp", 20)
    first = solve_neural(instance, checkpoint=str(path), augment_factor=1)
    assert solve_neural(instance, checkpoint=str(path), augment_factor=1).routes == first.routes
    # the same path rewritten with the trained weights: the solver must not keep the old policy
    trained, meta = load_policy(shipped("tsp", 20))
    save_policy(path, trained, "pomo", "tsp", 20)
    again = solve_neural(instance, checkpoint=str(path), augment_factor=1)
    assert again.routes == solve_neural(instance, checkpoint=str(shipped("tsp", 20)), augment_factor=1).routes
    assert again.cost < first.cost  # an untrained policy is far from the trained one on TSP20
    with pytest.raises(CheckpointError, match="not for CVRP"):
        solve_neural(random_cvrp(20, seed=5), checkpoint=str(path))


def _slow_device(monkeypatch, instance, seconds_per_rollout):
    """Make every rollout of the policy that solves ``instance`` take ``seconds_per_rollout`` on a fake clock,
    from a fresh speed estimate; returns the clock, the list of decoded chunks (rollouts, copies, start
    offset, coordinates) and the policy's decoder."""
    from nco import budget, neural

    clock, calls = [0.0], []
    real = budget.greedy_rollouts

    def greedy_rollouts(policy, problem, batch, starts, factor, pomo, offset=0, deadline=None):
        calls.append((starts, factor, offset, batch.coords.clone()))
        cost = seconds_per_rollout * starts * factor
        if deadline is not None and clock[0] + cost > deadline.at:  # stopped once its pace says so
            projected = clock[0] + cost
            clock[0] += cost * min(1.0, PROJECT_AFTER / batch.num_nodes)
            raise OutOfTime(projected)
        clock[0] += cost
        return real(policy, problem, batch, starts, factor, pomo, offset)

    monkeypatch.setattr(budget, "greedy_rollouts", greedy_rollouts)
    decoder = neural.loaded_policy(instance)[0].decoder
    monkeypatch.setattr(decoder, "clock", lambda: clock[0])
    monkeypatch.setattr(decoder, "seconds_per_unit", None)  # a fresh device: the first chunk measures it
    return clock, calls, decoder


def test_decoding_fills_its_budget_chunk_by_chunk(monkeypatch):
    from nco import neural
    from nco.policies.decoding import symmetry

    instance = random_cvrp(30, seed=5)
    unit = instance.num_nodes ** 2
    clock, calls, decoder = _slow_device(monkeypatch, instance, 1 / 16)
    found = neural.candidate_solutions(instance, count=500, augment_factor=8, budget=5.0)
    # 32 starts probed but only 30 exist; then the 2nd and 3rd symmetric copies while 80 rollouts fit in 5 s
    assert [c[:3] for c in calls] == [(30, 1, 0), (30, 1, 0), (20, 1, 0)] and clock[0] == 5.0
    coords = torch.tensor(instance.coords, dtype=torch.float32)
    assert all(torch.allclose(c[3][0], symmetry(coords, k)) for k, c in enumerate(calls))
    assert 1 < len(found) <= 80
    calls.clear()
    neural.candidate_solutions(instance, count=500, augment_factor=8, budget=0.9)  # the rate is known now
    assert [c[:3] for c in calls] == [(14, 1, 0)]
    calls.clear()
    neural.candidate_solutions(instance, count=500, augment_factor=1, budget=3.0)  # 30 of 30 and then more fit
    assert [c[:3] for c in calls] == [(30, 1, 0)]
    calls.clear()
    assert neural.candidate_solutions(instance, count=50, budget=0.05) == []  # measured: one takes 1/16 s
    assert calls == []
    calls.clear()
    decoder.seconds_per_unit = (1 / 16) / unit
    neural.candidate_solutions(instance, count=500, augment_factor=8, budget=15.0)  # all 240 in one decoding
    assert [c[:3] for c in calls] == [(30, 8, 0)]


def test_chunked_starts_continue_where_the_last_chunk_ended(monkeypatch):
    from nco import neural

    instance = random_tsp(40, seed=3)
    clock, calls, decoder = _slow_device(monkeypatch, instance, 1 / 16)
    monkeypatch.setattr(decoder, "probe_starts", 8)
    loaded, batch = neural.loaded_policy(instance)
    chunks = decoder.rollouts(loaded.policy, loaded.env, batch, 40, 1, True, budget=2.0)
    assert [c[:3] for c in calls] == [(8, 1, 0), (24, 1, 8)] and clock[0] == 2.0
    first = torch.cat([c.actions[0, :, 0] for c in chunks])
    assert first.tolist() == list(range(32))  # start nodes 0..31, each once


def test_each_loaded_policy_keeps_its_own_decoding_speed():
    from nco import neural

    tsp, cvrp = neural.loaded_policy(random_tsp(20, seed=1))[0], neural.loaded_policy(random_cvrp(20, seed=1))[0]
    assert tsp.decoder is not cvrp.decoder  # a CVRP policy's speed says nothing of a TSP policy's
    assert neural.loaded_policy(random_tsp(20, seed=2))[0].decoder is tsp.decoder  # kept between instances


def test_neural_solver_keeps_its_time_limit(monkeypatch):
    from nco import neural

    instance = random_cvrp(30, seed=6)
    clock, calls, _ = _slow_device(monkeypatch, instance, 1 / 16)
    solution = neural.solve_neural(instance, time_limit=4.0)
    # 30 + 30 + 4 of the 240 rollouts, less what loading the policy took of the limit (real time)
    assert 60 < sum(c[0] * c[1] for c in calls) <= 64 and clock[0] <= 4.0
    assert solution.cost == evaluate(instance, solution.routes)


def test_a_rollout_stops_as_soon_as_its_pace_says_it_cannot_make_its_deadline():
    """On a fake clock that ticks 0.01 s per step: a 101-step rollout needs about 1 s."""
    batch = from_instances([random_cvrp(100, seed=2)])
    policy = make_policy("am", "cvrp").eval()
    ticks = [0.0]

    def clock():
        ticks[0] += 0.01
        return ticks[0]

    with torch.inference_mode(), pytest.raises(OutOfTime) as stop:
        rollout(policy, make_env("cvrp"), batch, deadline=Deadline(0.5, clock), log_prob=False)
    # the encoder reads the clock as it begins and after each layer; the steps as they begin and before every
    # step: stopped after PROJECT_AFTER of them, not at 0.5
    assert ticks[0] == pytest.approx(0.01 * (1 + len(policy.layers) + 1 + PROJECT_AFTER + 1))
    assert 0.9 < stop.value.projected < 1.2
    ticks[0] = 0.0
    with torch.inference_mode():
        done = rollout(policy, make_env("cvrp"), batch, deadline=Deadline(5.0, clock), log_prob=False)
    assert done.actions.shape[-1] >= 101
    ticks[0] = 0.0
    with torch.inference_mode(), pytest.raises(OutOfTime) as early:  # an encoder that cannot be done in time
        rollout(policy, make_env("cvrp"), batch, deadline=Deadline(0.025, clock), log_prob=False)
    assert ticks[0] == pytest.approx(0.02)  # stops after its first layer, which says three take 0.03
    assert stop.value.whole and not early.value.whole  # the encoder's projection is not the rollout's


def test_a_chunk_that_cannot_finish_is_replanned_smaller_and_none_is_returned_when_none_fits(monkeypatch):
    from nco import neural

    instance = random_cvrp(200, seed=7)
    clock, calls, decoder = _slow_device(monkeypatch, instance, 1.0)  # one rollout: 1 s
    found = neural.candidate_solutions(instance, count=50, budget=3.0)
    # the 7-rollout probe stops early (projected 7 s), then one rollout fits in what is left, and no second
    assert [c[:3] for c in calls] == [(7, 1, 0), (1, 1, 0)] and 2.0 < clock[0] <= 3.0 and len(found) == 1
    calls.clear()
    assert neural.candidate_solutions(instance, budget=0.5) == [] and calls == []  # measured: not even one
    with pytest.raises(SolverError, match="one rollout of the policy on 201 nodes takes about 1.0 s"):
        neural.solve_neural(instance, time_limit=0.5)


def test_a_hybrid_without_the_policy_s_solutions_is_its_refiner_alone(monkeypatch, warm_kernels):
    """Thousands of nodes on a CPU: not one rollout fits in the decoding share, so the GA gets the whole limit."""
    from nco import hybrid

    monkeypatch.setattr(hybrid, "candidate_solutions", lambda *a, **k: [])
    instance = random_cvrp(50, seed=8)
    solution = nco.solve(instance, "neural+ga", time_limit=1)
    assert solution.solver == "neural+ga" and solution.cost == evaluate(instance, solution.routes)
    assert solution.history[0][0] < 0.5  # the GA's first solution, not a policy's
    assert solution.runtime <= 1.05


def test_candidate_solutions_are_distinct_checked_and_best_first():
    from nco.neural import candidate_solutions

    instance = random_cvrp(30, seed=4)
    found = candidate_solutions(instance, count=10)
    assert 1 < len(found) <= 10
    assert len({tuple(sorted(s.routes)) for s in found}) == len(found)
    assert [s.cost for s in found] == sorted(s.cost for s in found)
    assert all(s.cost == evaluate(instance, s.routes) for s in found)


@pytest.mark.parametrize("solver", ["neural+ga", "neural+ortools"])
def test_hybrids_start_from_the_policy_and_improve_on_it(solver, warm_kernels, monkeypatch):
    from nco import hybrid

    decoded = []  # the policy's solutions the hybrid started from (fewer starts on a busy machine)
    decode = hybrid.candidate_solutions
    monkeypatch.setattr(hybrid, "candidate_solutions", lambda *a, **k: decoded.append(decode(*a, **k)) or decoded[-1])
    instance = random_cvrp(50, seed=8)
    solution = nco.solve(instance, solver, time_limit=2)
    start = decoded[0][0].cost
    assert solution.solver == solver and solution.cost == evaluate(instance, solution.routes)
    assert solution.history[0][1] == pytest.approx(start)  # its curve starts at the policy's best ...
    assert solution.history[0][0] > 0  # ... stamped when the policy had produced it
    assert solution.cost <= start + 1e-6 and solution.runtime <= 2 * 1.05


@pytest.mark.slow
def test_neural_ga_cli_on_x_writes_a_checked_solution(shared, tmp_path):
    """The issue's acceptance command: neural+ga for 30 s on X-n101-k25."""
    out = tmp_path / "x.sol"
    path = shared / "cvrplib/X/X-n101-k25.vrp"
    assert main(["solve", str(path), "--solver", "neural+ga", "--time-limit", "30", "--out", str(out)]) == 0
    routes, cost = read_solution(out)
    assert evaluate(nco.load(path), routes) == cost


@pytest.mark.parametrize("problem", ["tsp", "cvrp"])
@pytest.mark.parametrize("name", ["am", "pomo"])
def test_cached_projections_give_the_published_decoder_logits(problem, name):
    """The decoder gathers per-node query projections and folds the glimpse's output projection into the
    pointer keys; its logits must be those of the published form, which projects at every step."""
    torch.manual_seed(0)
    policy = make_policy(name, problem).eval()
    instances = random_cvrp(12, batch=3, seed=2) if problem == "cvrp" else random_tsp(12, batch=3, seed=2)
    batch, env = from_instances(instances), make_env(problem)
    state = env.reset(batch, 4)
    with torch.no_grad():
        cache = policy.encode(batch)
        for _ in range(3):
            h, rows, d = cache.nodes, state.rows, cache.nodes.shape[-1]
            if problem == "cvrp":
                ctx = torch.cat([h[rows, state.current], state.free[..., None]], -1)
            elif state.steps == 0:
                ctx = policy.placeholder.expand(3, 4, -1)
            else:
                ctx = torch.cat([h[rows, state.first], h[rows, state.current]], -1)
            graph = policy.project_graph(h.mean(1, keepdim=True)) if name == "am" else 0.0
            q = (graph + policy.context(ctx)).view(3, 4, policy.heads, -1).transpose(1, 2)
            gk, gv, lk = policy.project_nodes(h).chunk(3, -1)
            split = lambda t: t.view(3, 12 + (problem == "cvrp"), policy.heads, -1).transpose(1, 2)  # noqa: E731
            glimpse = torch.nn.functional.scaled_dot_product_attention(q, split(gk), split(gv),
                                                                       attn_mask=state.mask[:, None])
            glimpse = policy.project_out(glimpse.transpose(1, 2).reshape(3, 4, d))
            expected = 10 * torch.tanh(glimpse @ lk.transpose(1, 2) / d**0.5)
            expected = expected.masked_fill(~state.mask, float("-inf"))
            logits = policy.logits(cache, state)
            assert torch.allclose(logits, expected, atol=1e-5)
            state = env.step(state, logits.argmax(-1))


def test_gumbel_sampling_draws_the_softmax_distribution():
    torch.manual_seed(0)
    logp = torch.log_softmax(torch.tensor([0.0, 1.0, float("-inf"), -1.0]), -1)  # logits would do as well
    draws = sample(logp.expand(200_000, 4))
    freq = torch.bincount(draws, minlength=4).double() / draws.numel()
    assert freq[2] == 0  # a masked node is never drawn
    assert torch.allclose(freq, logp.exp().double(), atol=0.005)


@pytest.mark.parametrize("decoding", ["greedy", "sample"])
def test_late_done_checks_only_add_noop_depot_steps(decoding):
    torch.manual_seed(0)
    instances = random_cvrp(20, batch=4, seed=3)
    policy = make_policy("pomo", "cvrp").eval()
    batch, env = from_instances(instances), make_env("cvrp")
    with torch.no_grad():
        results = []
        for every in (1, 50):  # the late checker asks after 21 steps, then only after 71
            torch.manual_seed(1)
            results.append(rollout(policy, env, batch, decoding, num_starts=20, multistart=True, done_every=every))
    each, late = results
    assert late.actions.shape[-1] > each.actions.shape[-1]  # the late checker ran past the end ...
    assert torch.all(late.actions[..., each.actions.shape[-1]:] == 0)  # ... with depot steps only
    assert torch.equal(late.actions[..., :each.actions.shape[-1]], each.actions)
    assert torch.allclose(late.reward, each.reward) and torch.allclose(late.log_prob, each.log_prob)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_rollouts_stall_only_at_their_done_checks():
    policy = make_policy("pomo", "cvrp").cuda()
    batch = from_instances(random_cvrp(50, batch=8, seed=4), device="cuda")
    env = make_env("cvrp")
    rollout(policy, env, batch, "sample", num_starts=50, multistart=True)  # warm-up (lazy CUDA init syncs)
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            result = rollout(policy, env, batch, "sample", num_starts=50, multistart=True)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    steps = result.actions.shape[-1]
    first = batch.num_nodes  # the first possible finish: every customer, then the depot
    checks = (steps - first) // GPU_DONE_EVERY + 1
    stalls = [w for w in caught if "synchroniz" in str(w.message)]
    assert len(stalls) <= checks, [str(w.message) for w in stalls[:3]]


@pytest.mark.parametrize("problem", ["tsp", "cvrp"])
def test_compiled_steps_give_the_eager_rollout_and_gradients(problem):
    """``nco train --compile`` takes each decoding step with torch.compile: the same solutions,
    log-probabilities and parameter gradients as the eager steps (greedy, so both choose alike)."""
    torch._dynamo.reset()  # compile afresh: other tests' variants count against torch's recompile limit
    torch.manual_seed(0)
    policy, env = make_policy("pomo", problem), make_env(problem)
    instances = random_cvrp(10, batch=3, seed=4) if problem == "cvrp" else random_tsp(10, batch=3, seed=4)
    batch = from_instances(instances)
    results, grads = [], []
    for compiled in (False, True):
        policy.zero_grad()
        result = rollout(policy, env, batch, "greedy", num_starts=batch.num_starts, multistart=True, compiled=compiled)
        result.log_prob.sum().backward()
        results.append(result)
        grads.append(torch.cat([p.grad.flatten() for p in policy.parameters() if p.grad is not None]))
    eager, compiled = results
    assert torch.equal(eager.actions, compiled.actions) and torch.allclose(eager.reward, compiled.reward)
    assert torch.allclose(eager.log_prob, compiled.log_prob, atol=1e-4)
    assert grads[0].shape == grads[1].shape and float(grads[0].abs().max()) > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-4, rtol=1e-3)
    sampled = rollout(policy, env, batch, "sample", num_starts=batch.num_starts, multistart=True, compiled=True)
    for b, instance in enumerate(instances):  # sampled steps: any legal solutions, with the costs reported
        for s in range(batch.num_starts):
            cost = evaluate(instance, routes_of(problem, sampled.actions[b, s]))
            assert cost == pytest.approx(-float(sampled.reward[b, s]), rel=1e-5)


def test_a_step_that_cannot_be_compiled_is_one_clear_error(monkeypatch):
    """No C++ compiler (CPU) or no triton (GPU): the user gets one line saying so, not the compiler's traceback."""
    import functools

    from torch._dynamo.exc import BackendCompilerFailed

    from nco.data import SolverError
    from nco.policies import decoding

    def broken(*args):
        raise BackendCompilerFailed(None, RuntimeError("No working C++ compiler found"), None)

    monkeypatch.setattr(decoding, "compiled_step", lambda: functools.partial(decoding._compiled_call, broken))
    batch = from_instances(random_tsp(6, batch=2, seed=0))
    expected = r"could not compile .*RuntimeError: No working C\+\+ compiler.*without --compile"
    with pytest.raises(SolverError, match=expected):
        rollout(make_policy("pomo", "tsp"), make_env("tsp"), batch, "sample", num_starts=6, multistart=True,
                compiled=True)


def test_the_first_chunk_on_a_large_instance_probes_fewer_starts():
    from nco.budget import BudgetedDecoder

    decoder = BudgetedDecoder()
    # a chunk costs about rollouts x nodes^2: 32 rollouts on 100 nodes, 3 on 301, at least 1 on 3,001
    assert [decoder._probe(n) for n in (21, 101, 301, 3001)] == [32, 31, 3, 1]
