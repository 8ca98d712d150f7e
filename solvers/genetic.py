"""A hybrid genetic search in the spirit of Vidal's HGS (2012, 2022).

Chromosomes are giant tours cut by Split; every child is educated by the
local search of ``nco.kernels`` on granular neighbourhoods. Capacity is soft
during the search: routes may be overloaded at a penalty per unit that adapts
so that about 20% of the educated children are feasible; infeasible children
are half the time repaired with a ten times higher penalty. Two
subpopulations (feasible, infeasible) keep ``mu`` to ``mu + lambda``
individuals, ranked by biased fitness (cost rank plus diversity rank, the
diversity being the broken-pairs distance to the closest others). After many
iterations without improvement the population restarts, keeping the best.
For the TSP the chromosome is the tour itself and capacity never binds.
"""

from __future__ import annotations

import functools
from typing import Any, Callable
from dataclasses import dataclass, field

import numpy as np

from nco import kernels
from nco.data import Instance, Solution, from_sequence
from nco.kernels.fleet_reinsert import reinsert
from nco.kernels.genetic import broken_pairs, neighbours_in_routes, order_crossover
from nco.kernels.routes import penalised_excess

from .common import Clock, check_time_limit, initial_sequence

Routes = Any  # what a search's education takes: a giant sequence here, with the vehicles for fleets


# From this many nodes a run without seeds starts from savings too: at n = 5,000 and 10 s the first random
# tour was educated after 6.9 s, and at n = 10,000 none was by the limit (benchmarks/results/scale_large.md).
SAVINGS_FROM = 2000


@dataclass
class Params:
    """HGS-2022 defaults, scaled for minute-long runs."""

    mu: int = 25
    lam: int = 40
    n_elite: int = 4
    n_close: int = 5
    granular: int = 20
    target_feasible: float = 0.2
    restart_after: int = 5000
    repair_probability: float = 0.5
    # The share of the children that are one parent with a cluster of customers reinserted (_mutation), how
    # many customers that takes out (at least, at most), the share of the time limit that the random tours
    # of a first population may take (at n = 783 each costs 150-250 ms to educate: 4 mu of them took all of
    # 30 s), and how often a mutation's parent is the best so far rather than a tournament's pick (an
    # iterated local search's focus beside the population's diversity). See benchmarks/README.md, "The GA
    # at 100 to 1,000 customers".
    mutation: float = 0.9
    ruin: tuple[int, int] = (5, 20)  # at most the granular neighbours (20) and their customer
    initial_share: float = 0.05
    mutate_best: float = 0.5  # of the mutations, the share whose parent is the best feasible so far


@dataclass
class Individual:
    """A giant tour, its routes (giant sequence) and its costs."""

    giant: np.ndarray
    seq: np.ndarray
    distance: float
    excess: int
    succ: np.ndarray = field(repr=False)
    pred: np.ndarray = field(repr=False)
    vehicles: np.ndarray | None = field(default=None, repr=False)  # each route's, where the vehicles differ

    def penalised(self, penalty: float) -> float:
        """Distance plus ``penalty`` per unit of overload."""
        return self.distance + penalty * self.excess

    @property
    def feasible(self) -> bool:
        """No route above capacity."""
        return self.excess == 0


class Subpopulation:
    """Individuals of one kind (feasible or not) with their broken-pairs distances cached."""

    def __init__(self, symmetric: bool):
        self.members: list[Individual] = []
        self.dist = np.zeros((0, 0))
        self.symmetric = symmetric
        self._fitness: tuple[float, np.ndarray] | None = None  # (penalty, biased fitness) until members change

    def __len__(self) -> int:
        return len(self.members)

    def add(self, ind: Individual) -> None:
        """Append ``ind`` and its distances to every member."""
        row = np.array([broken_pairs(ind.succ, ind.pred, m.succ, m.pred, self.symmetric) for m in self.members])
        size = len(self.members)
        grown = np.zeros((size + 1, size + 1))
        grown[:size, :size] = self.dist
        grown[size, :size] = row
        grown[:size, size] = row
        self.dist = grown
        self.members.append(ind)
        self._fitness = None

    def remove(self, index: int) -> None:
        """Drop member ``index``."""
        self.members.pop(index)
        self.dist = np.delete(np.delete(self.dist, index, 0), index, 1)
        self._fitness = None

    def biased_fitness(self, penalty: float, n_close: int, n_elite: int) -> np.ndarray:
        """Cost rank plus (1 - elite share) times diversity rank, scaled to [0, 1]; lower is better."""
        if self._fitness is None or self._fitness[0] != penalty:
            self._fitness = (penalty, self._biased_fitness(penalty, n_close, n_elite))
        return self._fitness[1]

    def _biased_fitness(self, penalty: float, n_close: int, n_elite: int) -> np.ndarray:
        size = len(self.members)
        if size == 1:
            return np.zeros(1)
        dist = self.dist + np.diag(np.full(size, np.inf))
        close = min(n_close, size - 1)
        diversity = np.sort(dist, 1)[:, :close].mean(1)
        costs = [ind.penalised(penalty) for ind in self.members]
        cost_rank = np.argsort(np.argsort(costs, kind="stable"), kind="stable")
        div_rank = np.argsort(np.argsort(-diversity, kind="stable"), kind="stable")
        return (cost_rank + (1 - min(n_elite, size) / size) * div_rank) / (size - 1)

    def worst(self, penalty: float, n_close: int, n_elite: int) -> int:
        """The member to drop: a clone of a no-worse member first, else the worst biased fitness."""
        costs = np.array([ind.penalised(penalty) for ind in self.members])
        clones = (self.dist == 0) & (costs[None, :] <= costs[:, None])
        np.fill_diagonal(clones, False)
        has_clone = np.flatnonzero(clones.any(1))
        if has_clone.size:
            return int(has_clone[np.argmax(costs[has_clone])])
        return int(np.argmax(self.biased_fitness(penalty, n_close, n_elite)))


class GeneticSearch:
    """One run of the genetic search on one instance (see the module docstring)."""

    mutates = True  # whether some children are mutations (Params.mutation); not where _mutation does not apply

    @property
    def mutating(self) -> bool:
        """Whether this run makes mutations (and so caps its first population's random tours): not on a TSP,
        where at 10 s on six TSPLIB files of 150-442 cities they did not pay (mean gap 0.79% against 0.75)."""
        return self.mutates and not self.one_tour and self.params.mutation > 0

    def __init__(self, instance: Instance, seed: int, params: Params):
        self.instance = instance
        self.params = params
        self.rng = np.random.default_rng(seed)
        self.n = instance.num_nodes
        self.one_tour = False  # a TSP: no Split, no capacity, no second route
        self.penalty = self._prepare(instance, params)
        self.feasible_pop = Subpopulation(instance.symmetric)
        self.infeasible_pop = Subpopulation(instance.symmetric)
        self.recent_feasible: list[bool] = []
        self.best: Individual | None = None

    def _prepare(self, instance: Instance, params: Params) -> float:
        """The kernels' arrays and neighbour lists; returns the first overload penalty (-1: capacity hard)."""
        dist, self.demand, self.capacity = instance.kernel_arrays()
        self.dist = kernels.prepared_matrix(dist)  # once, not at every education
        self.one_tour = instance.max_routes == 1
        self.neighbours = kernels.neighbour_lists(self.dist, params.granular)
        spread = float(np.max(self.dist)) / max(1.0, float(np.max(self.demand)))
        return -1.0 if self.one_tour else float(np.clip(spread, 0.1, 1000.0))

    # -- individuals (what a subclass for another kind of routes replaces) -------------------------
    def _make(self, routes: Routes) -> Individual:
        seq = np.asarray(routes, dtype=np.int64)
        # The load above capacity, summed over routes (a penalty of 1 per unit); never any for one tour.
        excess = 0 if self.one_tour else int(round(penalised_excess(self.demand, self.capacity, seq, 1.0)))
        return self._individual(seq, kernels.sequence_cost(self.dist, seq), excess)

    def _individual(self, seq: np.ndarray, cost: float, excess: int, vehicles: np.ndarray | None = None) -> Individual:
        succ, pred = neighbours_in_routes(seq, self.n)
        return Individual(seq[seq > 0].copy(), seq, cost, excess, succ, pred, vehicles)

    def _routes(self, ind: Individual) -> Routes:
        """What :meth:`_educate` takes back from an individual: its giant sequence."""
        return ind.seq

    def _as_routes(self, seed: Routes) -> Routes:
        """A seed solution (a giant sequence) as :meth:`_educate` takes it."""
        return np.asarray(seed, dtype=np.int64)

    def _routes_of(self, giant: np.ndarray, penalty: float) -> Routes:
        if self.one_tour:
            return np.concatenate(([0], giant, [0])).astype(np.int64)
        return kernels.split(self.dist, self.demand, self.capacity, giant, penalty)[1]

    def _educate(self, routes: Routes, penalty: float, deadline: float | None,
                 focus: np.ndarray | None = None) -> Individual:
        """``routes`` after the local search at ``penalty``; ``focus``: the customers whose routes changed since
        they were a local optimum (the search's first pass tries only those routes)."""
        spare = 0 if self.one_tour else None
        _, seq = kernels.local_search(self.dist, self.demand, self.capacity, routes, self.neighbours,
                                      seed=int(self.rng.integers(2**31)), deadline=deadline, spare_routes=spare,
                                      penalty=penalty, focus=focus)
        return self._make(seq)

    def savings(self) -> np.ndarray:
        """Clarke-Wright savings' routes (a giant sequence)."""
        return kernels.savings(self.dist, self.demand, self.capacity, self.instance.symmetric, self.one_tour)

    def _fallback(self, deadline: float) -> Individual:
        """A feasible individual when the run made none (a very short run): savings, educated with hard
        capacities, as it is when no time is left."""
        return self._educate(self.savings(), -1.0, deadline)

    # -- children --------------------------------------------------------------------------------
    def _crossover(self, a: Individual, b: Individual) -> Routes:
        """A child of ``a`` and ``b`` before education: order crossover of their giant tours, then Split."""
        start, end = self.rng.integers(len(a.giant), size=2)
        return self._routes_of(order_crossover(a.giant, b.giant, int(start), int(end)), self.penalty)

    def _mutation(self, a: Individual) -> tuple[Routes, np.ndarray]:
        """``a`` with a random customer and its nearest (``ruin`` of them in all) taken out and put back one by
        one where each costs least at the current penalty, as PyVRP's iterated local search perturbs; and the
        customers whose routes that changed (those taken out and their old neighbours), the education's focus.

        An educated child of two parents is a new solution at every place, so at n = 783 its education
        takes 150-250 ms; a mutation's takes a few: more children a second where a full pass costs most."""
        low, high = self.params.ruin
        k = int(self.rng.integers(low, high + 1))
        c = int(self.rng.integers(1, self.n))
        out = np.concatenate(([c], self.neighbours[c, :k - 1]))
        kept = a.seq[~np.isin(a.seq, out)]
        kept = kept[np.concatenate(([True], (kept[1:] != 0) | (kept[:-1] != 0)))]  # no empty route left
        trips = int((kept[1:] == 0).sum())
        size = trips + out.size  # a homogeneous fleet with a spare vehicle per customer put back
        seq, _ = reinsert(self.dist, self.demand, np.full(size, self.capacity, dtype=np.int64), np.ones(size),
                          np.ones((size, self.n), dtype=np.bool_), kept, np.arange(trips, dtype=np.int64),
                          self.rng.permutation(out), max(0.0, float(self.penalty)))
        focus = np.unique(np.concatenate((out, a.succ[out], a.pred[out])))
        return seq, focus[focus > 0]

    def _overloaded(self, ind: Individual) -> np.ndarray | None:
        """The customers on routes over capacity: only moves that touch those routes gain when the penalty
        rises, so a repair's search focuses on them."""
        seq = ind.seq
        route = np.cumsum(seq == 0)[seq > 0]  # each customer's route number, in sequence order
        load = np.bincount(route, weights=self.demand[seq[seq > 0]])
        return seq[seq > 0][load[route] > self.capacity]

    def _offspring(self, routes: Routes, deadline: float, focus: np.ndarray | None = None) -> None:
        """Educate ``routes`` (on ``focus`` first, see :meth:`_educate`), add it, and half the time repair it
        when infeasible."""
        child = self._educate(routes, self.penalty, deadline, focus)
        self.recent_feasible.append(child.feasible)
        self.add(child)
        if not child.feasible and self.rng.random() < self.params.repair_probability:
            repaired = self._educate(self._routes(child), 10 * self.penalty, deadline, self._overloaded(child))
            if repaired.feasible:
                self.add(repaired)

    def educated(self, routes: Routes) -> Individual:
        """``routes`` (a giant sequence) after the education every child gets, at the current penalty."""
        return self._educate(self._as_routes(routes), self.penalty, None)

    def random_routes(self) -> Routes:
        """A random giant tour cut by Split: what the first population is made of before education."""
        return self._routes_of(self.rng.permutation(np.arange(1, self.n, dtype=np.int64)), self.penalty)

    # -- population ------------------------------------------------------------------------------
    def add(self, ind: Individual) -> None:
        """Insert ``ind`` into its subpopulation (survivor selection when it is full)."""
        if ind.feasible and (self.best is None or ind.distance < self.best.distance - 1e-9):
            self.best = ind
        pop = self.feasible_pop if ind.feasible else self.infeasible_pop
        pop.add(ind)
        p = self.params
        if len(pop) > p.mu + p.lam:
            while len(pop) > p.mu:
                pop.remove(pop.worst(self.penalty, p.n_close, p.n_elite))

    def _tournament(self) -> Individual:
        p = self.params
        pops = [pop for pop in (self.feasible_pop, self.infeasible_pop) if len(pop)]
        sizes = np.array([len(pop) for pop in pops])
        picks = []
        for _ in range(2):
            k = int(self.rng.integers(sizes.sum()))
            which = int(np.searchsorted(np.cumsum(sizes), k, side="right"))
            picks.append((which, k - int(sizes[:which].sum())))
        # Each candidate is ranked within its own subpopulation, as in HGS.
        scores = [pops[w].biased_fitness(self.penalty, p.n_close, p.n_elite)[i] for w, i in picks]
        w, i = picks[0] if scores[0] <= scores[1] else picks[1]
        return pops[w].members[i]

    def _adapt_penalty(self) -> None:
        share = float(np.mean(self.recent_feasible))
        target = self.params.target_feasible
        if share < target - 0.05:
            self.penalty = min(1e5, self.penalty * 1.2)
        elif share > target + 0.05:
            self.penalty = max(0.1, self.penalty * 0.85)
        self.recent_feasible.clear()

    # -- the run ---------------------------------------------------------------------------------
    def initial_population(self, seeds: list[Routes], clock: Clock, deadline: float) -> None:
        """The seed solutions as given and each of them educated as a child, then educated random giant
        tours, 4 mu children in all (HGS makes 4 mu random ones).

        Educated, a policy's solutions beat as many educated random tours
        (``benchmarks/results/seeding.md``), which raw they do not; this is
        what EARLI does with its policy's solutions too. A count, not a
        population size: survivor selection trims each subpopulation back to
        mu along the way, so the total may never reach 4 mu.
        """
        for seed in seeds:
            self.add(self._make(self._as_routes(seed)))
        # each child's routes made only when its turn comes: a random tour draws from the rng then, as before
        makers: list[Callable[[], Routes]] = [functools.partial(self._as_routes, seed)
                                              for seed in seeds[:4 * self.params.mu]]
        makers += [self.random_routes] * (4 * self.params.mu - len(makers))
        stop = clock.elapsed() + (self.params.initial_share if self.mutating else 1.0) * clock.time_limit
        for made, make in enumerate(makers):
            if clock.remaining() <= 0 or (made >= 2 and clock.elapsed() > stop):
                break
            self._offspring(make(), deadline)
            self._record(clock)

    def _record(self, clock: Clock) -> None:
        if self.best is not None:
            clock.record(self.best.distance)

    def run(self, clock: Clock, seeds: list[Routes], max_iterations: int | None) -> Individual:
        """Evolve until the clock or the iteration limit stops it; return the best feasible individual."""
        deadline = clock.deadline
        self.initial_population(seeds, clock, deadline)
        iteration, since_best, best_cost = 0, 0, np.inf
        while clock.remaining() > 0 and (max_iterations is None or iteration < max_iterations):
            iteration += 1
            if self.mutating and self.rng.random() < self.params.mutation:
                best = self.best if self.best is not None and self.rng.random() < self.params.mutate_best else None
                routes, focus = self._mutation(best or self._tournament())
                self._offspring(routes, deadline, focus)
            else:
                a, b = self._tournament(), self._tournament()
                self._offspring(self._crossover(a, b), deadline)
            if len(self.recent_feasible) >= 100 and not self.one_tour:
                self._adapt_penalty()
            if self.best is not None and self.best.distance < best_cost - 1e-9:
                best_cost, since_best = self.best.distance, 0
                self._record(clock)
            else:
                since_best += 1
            if since_best >= self.params.restart_after:
                self.feasible_pop = Subpopulation(self.instance.symmetric)
                self.infeasible_pop = Subpopulation(self.instance.symmetric)
                if self.best is not None:
                    self.feasible_pop.add(self.best)
                self.initial_population([], clock, deadline)
                since_best = 0
        if self.best is None:  # no feasible child at all
            self.best = self._fallback(deadline)
        return self.best


def genetic(instance: Instance, time_limit: float = 10.0, seed: int = 0, initial: Solution | None = None,
            seeds: list[Solution] | None = None, max_iterations: int | None = None,
            params: Params | None = None) -> Solution:
    """Hybrid genetic search (HGS-style) to the wall-clock limit (or ``max_iterations``).

    ``initial`` and ``seeds`` (solutions of this instance, e.g. a policy's)
    enter the first population unchanged. Deterministic for a seed when an
    iteration limit, not the clock, ends the run.
    """
    clock = Clock(check_time_limit(time_limit))
    starts = ([initial] if initial is not None else []) + list(seeds or [])
    search = GeneticSearch(instance, seed, params or Params())
    sequences = [s for s in (initial_sequence(instance, s) for s in starts) if s is not None]
    if not sequences and instance.num_nodes > SAVINGS_FROM and not search.one_tour:
        sequences.append(search.savings())
    best = search.run(clock, sequences, max_iterations)
    return clock.finish(instance, from_sequence(best.seq), "ga")
