"""Online path selection from the front door: the routers of ``nco/FlowArrival-v0``, their simulation,
the learned router's training, and ``nco route-flows``.

Routers (each picks one path per arriving flow, see :mod:`nco.envs.paths_online`):

- ``shortest``: the pair's shortest path by IGP weight;
- ``ecmp``: one of the equal-cost shortest paths at random (a flow hash);
- ``least-loaded``: the path whose busiest link, by the (stale) telemetry and with this flow added, is least
  utilised (ties to the shorter);
- ``least-loaded-own``: the same, adding to the telemetry what the source itself placed since it was taken;
- ``automata``: stochastic learning automata, one per pair, linear reward-inaction (the seed paper's
  learner): the chosen path's probability grows by ``rate * beta * (1 - p)``, the others shrink by
  ``rate * beta * p``, with ``beta`` = 1 minus the chosen path's highest utilisation once the flow is placed
  (the flow's own in-band telemetry; 0 when it is rejected);
- ``learned``: the :class:`~nco.policies.paths_online.PathScorer` (the shipped one by default), greedy.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from nco.data import InstanceError, NcoError
from nco.data.paths import Network, random_pool, traffic
from nco.envs.paths_online import FlowArrivalEnv, FlowNet, FlowState, flows_on, instance_flows

from .policies.paths_online import PathScorer

ROUTERS = ("shortest", "ecmp", "least-loaded", "least-loaded-own", "automata", "learned")
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "flows-scorer.pt"
FORMAT = "nco-flow-policy"


def _best(score: torch.Tensor, state: FlowState) -> torch.Tensor:
    """``[B]`` the valid path of lowest ``score [B, K]``, ties to the lower slot (the shorter path)."""
    k = score.shape[1]
    ranked = score.double() + torch.arange(k, dtype=torch.float64) * 1e-9
    return ranked.masked_fill(~state.mask, float("inf")).argmin(-1)


def shortest(state: FlowState, generator: torch.Generator | None = None) -> torch.Tensor:
    """Every flow on its pair's shortest path."""
    return torch.zeros(state.episodes, dtype=torch.long)


def ecmp(state: FlowState, generator: torch.Generator | None = None) -> torch.Tensor:
    """Every flow on one of its pair's equal-cost shortest paths, at random."""
    cost = state.net.cost[state.demand]
    equal = state.mask & (cost <= cost[:, :1] * (1 + 1e-9))
    return torch.multinomial(equal.double(), 1, generator=generator)[:, 0]


def _bottleneck(state: FlowState, base: torch.Tensor) -> torch.Tensor:
    """``[B, K]`` each candidate path's highest utilisation of ``base [B, E]`` plus the arriving flow."""
    path = state.paths()
    return ((base[:, None] + state.size[:, None, None] * path) / state.net.capacity * path).amax(-1)


def least_loaded(state: FlowState, generator: torch.Generator | None = None) -> torch.Tensor:
    """Every flow on the path least utilised by the telemetry (with the flow added)."""
    return _best(_bottleneck(state, state.telemetry), state)


def least_loaded_own(state: FlowState, generator: torch.Generator | None = None) -> torch.Tensor:
    """As :func:`least_loaded`, adding the source's own placements since the telemetry was taken."""
    own = state.sent[torch.arange(state.episodes), state.net.source[state.demand]]
    return _best(_bottleneck(state, state.telemetry + own), state)


RULES: dict[str, Callable[..., torch.Tensor]] = {"shortest": shortest, "ecmp": ecmp, "least-loaded": least_loaded,
                                                 "least-loaded-own": least_loaded_own}


@dataclass
class LearningAutomata:
    """One linear reward-inaction automaton per episode and pair: ``p [B, D, K]`` over the pair's paths."""

    p: torch.Tensor
    rate: float = 0.1

    @classmethod
    def uniform(cls, net: FlowNet, episodes: int, rate: float = 0.1) -> LearningAutomata:
        """Every pair's paths equally likely."""
        valid = net.valid.double()
        return cls((valid / valid.sum(-1, keepdim=True)).expand(episodes, -1, -1).clone(), rate)

    def act(self, state: FlowState, generator: torch.Generator | None = None) -> torch.Tensor:
        """A path per arriving flow, drawn from its pair's probabilities."""
        rows = torch.arange(state.episodes)
        return torch.multinomial(self.p[rows, state.demand], 1, generator=generator)[:, 0]

    def learn(self, state: FlowState, action: torch.Tensor, accepted: torch.Tensor) -> None:
        """The update once ``action`` was taken in ``state`` (before the step): ``beta`` from the chosen
        path's true utilisation with the flow placed (0 when rejected)."""
        rows = torch.arange(state.episodes)
        path = state.net.incidence[state.demand * state.net.num_paths + action]
        peak = ((state.load + state.size[:, None] * path) / state.net.capacity * path).amax(-1)
        beta = torch.where(accepted, (1 - peak).clamp(0, 1), 0.0)
        chosen = torch.nn.functional.one_hot(action, state.net.num_paths).double()
        own = self.p[rows, state.demand]
        self.p[rows, state.demand] = own + self.rate * beta[:, None] * (chosen - own)


@dataclass
class Simulated:
    """What :func:`simulate` measured, per episode ``[B]``: time-averaged ``mlu``, ``rejection`` rate and
    ``delay``, and the ``seconds`` of deciding (the routers' time, not the simulator's) per flow."""

    mlu: np.ndarray
    rejection: np.ndarray
    delay: np.ndarray
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def simulate(net: FlowNet, volume: torch.Tensor, router: str, env: FlowArrivalEnv, arrivals: int, seed: int = 0,
             policy: PathScorer | None = None, progress: Callable[[int], None] | None = None) -> Simulated:
    """Run ``arrivals`` flows per episode through ``env`` on ``net`` (mean traffic ``volume [B, D]``), each
    routed by ``router`` (one of :data:`ROUTERS`; ``learned`` uses ``policy``, by default the shipped one).
    The same seed gives every router the same arrivals' random stream where their draws agree."""
    if router not in ROUTERS:
        raise InstanceError(f"unknown router {router!r}; expected one of {', '.join(ROUTERS)}", field="router")
    generator = torch.Generator().manual_seed(seed)
    state = env.reset(net, volume, generator)
    automata = LearningAutomata.uniform(net, state.episodes) if router == "automata" else None
    model = (policy or load_scorer()) if router == "learned" else None
    deciding = 0.0
    with torch.inference_mode():
        for i in range(arrivals):
            started = time.perf_counter()
            if automata is not None:
                action = automata.act(state, generator)
            elif model is not None:
                action = model.act(state, greedy=True)[0]
            else:
                action = RULES[router](state, generator)
            deciding += time.perf_counter() - started
            before = state
            state, _, info = env.step(state, action)
            if automata is not None:
                automata.learn(before, action, info["accepted"])
            if progress is not None:
                progress(i + 1)
    m = state.metrics()
    return Simulated(m["mlu"].numpy(), m["rejection"].numpy(), m["delay"].numpy(),
                     deciding / (arrivals * state.episodes))


# -- training ---------------------------------------------------------------------------------------


def discounted(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """``[T, B]`` the discounted return from each step of ``rewards [T, B]``."""
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def train_scorer(minutes: float = 5.0, sizes: tuple[int, int] = (10, 16), episodes: int = 16, horizon: int = 400,
                 k: int = 4, intensity: tuple[float, float] = (0.9, 1.5), period: tuple[float, float] = (0.1, 1.0),
                 gamma: float = 0.98, lr: float = 1e-3, seed: int = 0, iterations: int | None = None,
                 env_options: dict[str, Any] | None = None,
                 progress: bool = True) -> tuple[PathScorer, list[dict[str, float]]]:
    """REINFORCE for the :class:`PathScorer`: each iteration a random network of ``sizes`` nodes, one gravity
    matrix at an intensity drawn from ``intensity``, a telemetry period drawn log-uniformly from ``period``
    (one model for fresh and stale telemetry: the age of the snapshot is a feature), and ``episodes`` sampled
    rollouts of ``horizon`` flows that share their arrivals (so the per-step mean over episodes is the baseline
    of each one's discounted return). Runs for ``minutes`` (or ``iterations``). Returns the model and each
    iteration's means."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    model = PathScorer()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    deadline = time.perf_counter() + 60 * minutes
    bar = _bar(progress, iterations, minutes)
    while (iterations is None and time.perf_counter() < deadline) or (iterations is not None and
                                                                     len(history) < iterations):
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        network = random_pool(size)[int(rng.integers(16))]
        net, volume = flows_on(network, traffic(rng, network, 1), k)
        every = float(np.exp(rng.uniform(np.log(period[0]), np.log(period[1]))))
        env = FlowArrivalEnv(intensity=float(rng.uniform(*intensity)), period=every, **(env_options or {}))
        state = env.reset(net, volume.expand(episodes, -1), generator, shared=True)
        log_probs, rewards = [], []
        for _ in range(horizon):
            action, log_p = model.act(state, generator=generator)
            state, reward, _ = env.step(state, action)
            log_probs.append(log_p)
            rewards.append(reward)
        returns = discounted(torch.stack(rewards).float(), gamma)
        advantage = returns - returns.mean(1, keepdim=True)
        advantage = advantage / advantage.std().clamp_min(1e-6)
        loss = -(advantage * torch.stack(log_probs)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        m = state.metrics()
        history.append({"mlu": float(m["mlu"].mean()), "rejection": float(m["rejection"].mean()),
                        "reward": float(torch.stack(rewards).mean())})
        bar(history[-1])
    bar(None)
    model.eval()
    return model, history


def _bar(enabled: bool, iterations: int | None, minutes: float) -> Callable[[dict[str, float] | None], None]:
    """A progress line per iteration (tqdm over iterations, or over the seconds of the run)."""
    if not enabled:
        return lambda _: None
    from tqdm import tqdm

    total = iterations or math.ceil(60 * minutes)
    bar = tqdm(total=total, desc="training the flow router", unit="it" if iterations else "s")
    began = time.perf_counter()

    def tick(last: dict[str, float] | None) -> None:
        if last is None:
            bar.close()
            return
        bar.set_postfix(mlu=f"{last['mlu']:.3f}", rejected=f"{last['rejection']:.3f}")
        bar.n = bar.n + 1 if iterations else min(total, int(time.perf_counter() - began))
        bar.refresh()

    return tick


def save_scorer(path: str | Path, model: PathScorer, training: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` atomically (a temporary file, then renamed)."""
    from nco.data.atomic import atomic_path

    path = Path(path)
    payload = {"format": FORMAT, "hidden": model.hidden, "training": dict(training or {}),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_scorer(path: str | Path | None = None) -> PathScorer:
    """The :class:`PathScorer` in ``path`` (by default the shipped one), in eval mode."""
    from .checkpoints import CheckpointError, verify_archive

    path = Path(path or SHIPPED)
    verify_archive(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a foreign file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an nco flow router (expected format {FORMAT!r})")
    model = PathScorer(int(data.get("hidden", 64)))
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit a flow router ({exc})") from None
    return model.eval()


# -- command line -----------------------------------------------------------------------------------


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``nco route-flows``'s arguments."""
    n = sub.add_parser("route-flows", help="online path selection: flows arrive and each router picks paths",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    n.add_argument("topology", metavar="FILE", help="a REPETITA .graph, SNDlib .xml or Topology Zoo .graphml")
    n.add_argument("--traffic", nargs="+", default=(), metavar="FILE",
                   help="its traffic matrices (default: the file's own demands, else a gravity matrix); one "
                        "episode per matrix")
    n.add_argument("--routers", default=",".join(ROUTERS), help=f"comma-separated, of {', '.join(ROUTERS)}")
    n.add_argument("--arrivals", type=int, default=3000, help="flows per episode (default 3000)")
    n.add_argument("--warmup", type=int, default=1000, help="flows before the averages start (default 1000)")
    n.add_argument("--flows", type=float, default=50.0, help="mean number of flows in the network (default 50)")
    n.add_argument("--intensity", type=float, default=1.2,
                   help="the MLU of the mean traffic on shortest paths (default 1.2: they must reject flows)")
    n.add_argument("--period", type=float, default=0.1,
                   help="telemetry refresh period, in mean holding times (default 0.1)")
    n.add_argument("--k", type=int, default=4, help="candidate paths per pair (default 4)")
    n.add_argument("--policy", metavar="FILE", help="the learned router's checkpoint (default: the shipped one)")
    n.add_argument("--seed", type=int, default=0)
    n.set_defaults(func=cmd_route_flows)
    t = sub.add_parser("train-flows", help="train the learned online router (REINFORCE on random networks)",
                       description=train_scorer.__doc__)
    t.add_argument("--minutes", type=float, default=10.0, help="wall-clock training time (default 10)")
    t.add_argument("--iterations", type=int, default=None, help="a fixed number of iterations instead")
    t.add_argument("--flows", type=float, default=50.0, help="mean number of flows in the network (default 50)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", metavar="FILE", default="flows-scorer.pt", help="where to write the checkpoint")
    t.set_defaults(func=cmd_train_flows)


def cmd_route_flows(args: argparse.Namespace) -> int:
    """``nco route-flows``: each router's time-averaged MLU, rejection rate, delay and decision time."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from nco.data.paths import read_network

    routers = [r.strip() for r in args.routers.split(",") if r.strip()]
    unknown = [r for r in routers if r not in ROUTERS]
    if unknown:
        raise NcoError(f"--routers: unknown {', '.join(unknown)}; expected some of {', '.join(ROUTERS)}")
    if args.arrivals <= args.warmup or args.warmup < 0:
        raise NcoError(f"--arrivals ({args.arrivals}) must exceed --warmup ({args.warmup}), which is >= 0")
    instance = read_network(args.topology, args.traffic)
    net, volume = (instance_flows(instance, args.k) if instance.traffic.sum() > 0 else
                   flows_on(instance.network, _gravity(instance.network), args.k))
    env = FlowArrivalEnv(args.flows, args.intensity, args.period, args.warmup)
    policy = load_scorer(args.policy) if "learned" in routers else None
    console = Console()
    results = {}
    with Progress(console=console, transient=True) as progress:
        for router in routers:
            task = progress.add_task(f"routing by {router}", total=args.arrivals)

            def advance(i: int, task: Any = task) -> None:
                progress.update(task, completed=i)

            results[router] = simulate(net, volume, router, env, args.arrivals, args.seed, policy, advance)
    table = Table(title=f"{instance.name}: {instance.network.num_nodes} nodes, {net.num_demands} pairs, "
                        f"{volume.shape[0]} episode(s) of {args.arrivals} flows, intensity {args.intensity}")
    for column in ("router", "time-avg MLU", "rejected %", "M/M/1 delay", "us per flow"):
        table.add_column(column, justify="right")
    for router, r in results.items():
        table.add_row(router, f"{r.mlu.mean():.4f}", f"{100 * r.rejection.mean():.2f}", f"{r.delay.mean():.2f}",
                      f"{1e6 * r.seconds:.1f}")
    console.print(table)
    return 0


def cmd_train_flows(args: argparse.Namespace) -> int:
    """``nco train-flows``: train a :class:`PathScorer` and write it to ``--out``."""
    if not (args.minutes > 0 or (args.iterations or 0) > 0):
        raise NcoError(f"--minutes ({args.minutes}) or --iterations must be > 0")
    started = time.perf_counter()
    model, history = train_scorer(args.minutes, iterations=args.iterations, seed=args.seed,
                                  env_options={"flows": args.flows})
    minutes = (time.perf_counter() - started) / 60
    command = " ".join(["nco train-flows", f"--minutes {args.minutes:g}" if args.iterations is None else
                        f"--iterations {args.iterations}", f"--flows {args.flows:g} --seed {args.seed}"])
    path = save_scorer(args.out, model, {"command": command, "iterations": len(history),
                                         "minutes": round(minutes, 2), "last": history[-1] if history else {}})
    print(f"{path}: {len(history)} iterations in {minutes:.1f} min")
    return 0


def _gravity(network: Network) -> np.ndarray:
    from nco.data.paths import gravity

    return gravity(network)[None]
