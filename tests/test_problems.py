"""The problem registry: one spec per problem, and no module outside a problem's own files names it."""

import ast
import re
from pathlib import Path

import pytest

import nco
from nco.data import PROBLEMS, InstanceError, get_problem
from nco.solvers import solvers_for

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("data", "kernels", "solvers", "envs", "nco")
REGISTRY = Path("data/problems.py")


def own_files(name: str) -> set[Path]:
    """A problem's own modules: ``<layer>/<name>.py`` (``nco/<name>.py``: its own commands), the policy
    context, and a variant's ``<layer>/<name>_<variant>.py`` beside them (the online paths)."""
    layers = ("data", "kernels", "solvers", "envs", "nco", "nco/policies")
    return {Path(f"{layer}/{name}.py") for layer in layers} | {
        p.relative_to(ROOT) for layer in layers for p in (ROOT / layer).glob(f"{name}_*.py")}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose may name any problem)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def names_in_code(source: str) -> list[tuple[int, str]]:
    """``(line, token)`` for every string constant (docstrings left out) and identifier of ``source``;
    the re-exports of an ``__init__`` (imports, ``__all__``) are not counted."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.append((node.lineno, node.name))
    return out


def mentions(token: str, problem: str) -> bool:
    """Whether a string or identifier names ``problem``: the name itself in any case, or as a word of an
    identifier (``random_cvrp``, ``TSPEnv``)."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", token)
    return token.lower() == problem or problem in (w.lower() for w in words)


def violations(problem: str) -> list[str]:
    allowed = own_files(problem) | {REGISTRY}
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel in allowed:
                continue
            source = path.read_text()
            tokens = names_in_code(source)
            if rel.name == "__init__.py":
                tokens = [(line, t) for line, t in tokens if not _in_all(source, line)]
            found += [f"{rel}:{line}: {token!r}" for line, token in tokens if mentions(token, problem)]
    return found


def _in_all(source: str, line: int) -> bool:
    """Whether ``line`` is inside the ``__all__`` list (re-exports)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return node.lineno <= line <= node.end_lineno
    return False


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_no_module_outside_a_problems_own_files_names_it(problem):
    assert violations(problem) == []


def test_the_check_catches_a_name_comparison(tmp_path):
    """The check itself: a branch on the name, or a problem's class in an identifier, is found."""
    code = 'def f(instance):\n    """The tsp, in prose, is fine."""\n    return instance.problem == "tsp" or TSPEnv\n'
    assert sorted(t for _, t in names_in_code(code) if mentions(t, "tsp")) == ["TSPEnv", "tsp"]
    assert not mentions("tspan", "cvrp") and mentions("random_cvrp", "cvrp") and mentions("CVRP", "cvrp")


def test_unknown_problem_is_one_error_listing_the_registered_ones():
    for ask in (lambda: get_problem("vrptw"), lambda: nco.envs.make_env("vrptw"),
                lambda: nco.data.kool_test_set("vrptw", 20, 1), lambda: nco.envs.random_batch("vrptw", 5, 2)):
        with pytest.raises(InstanceError, match=r"unknown problem 'vrptw'; expected one of tsp, cvrp"):
            ask()


def test_every_problem_has_its_module_in_every_layer():
    """What the registry promises is there: generator, env, Gymnasium id, policy context."""
    import gymnasium as gym

    from nco.envs.batch import from_instances, random_batch

    for spec in PROBLEMS.values():
        instance = spec.random(8, seed=1)
        assert isinstance(instance, spec.instance_type) and instance.problem == spec.name and instance.size == 8
        assert solvers_for(spec)
        if not spec.learned:  # the classical half only, so far: a clear error for the learned layers
            with pytest.raises(InstanceError, match=f"the {spec.title} has no environment or policy yet"):
                nco.envs.make_env(spec.name)
            continue
        batch = from_instances([instance])
        assert batch.problem == spec.name and batch.num_nodes == 8 + spec.depot
        assert random_batch(spec.name, 8, 2).num_nodes == 8 + spec.depot
        assert spec.env_module().ENV().reset(batch).batch is batch
        assert spec.gym_id in gym.registry
        one_step = getattr(spec.env_module().ENV, "one_step", False)  # its own policy architecture
        assert spec.policy_module().CONTEXT is not None or one_step


def test_every_problems_env_state_and_policies_keep_the_contracts():
    """The protocols of nco.envs.contracts and nco.policies.contracts hold for every registered problem."""
    from nco.envs.batch import random_batch
    from nco.envs.contracts import Env, OneStepEnv, State
    from nco.policies import make_policy
    from nco.policies.contracts import Policy

    for spec in (spec for spec in PROBLEMS.values() if spec.learned):
        env = nco.envs.make_env(spec.name)
        if isinstance(env, OneStepEnv):  # every decision in one action: the policy acts once
            batch = random_batch(spec.name, 8, 2)
            for name in spec.policies:
                policy = make_policy(name, spec.name)
                action, log_prob = policy.act(policy.encode(batch), 3, greedy=False)
                state = env.step(env.reset(batch, 3), action)
                assert state.done and state.reward.shape == log_prob.shape == (2, 3)
            continue
        assert isinstance(env, Env) and env.problem == spec.name
        state = env.reset(random_batch(spec.name, 8, 2), num_starts=3)
        assert isinstance(state, State) and state.mask.shape[:2] == (2, 3)
        assert state.mask.shape[-1] % (8 + spec.depot) == 0  # nodes, or (vehicle, node) pairs
        for name in spec.policies:
            policy = make_policy(name, spec.name)
            assert isinstance(policy, Policy), f"{name} for {spec.name}"
            assert policy.logits(policy.encode(state.batch), state).shape == state.mask.shape
