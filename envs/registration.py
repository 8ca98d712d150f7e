"""Registration of every registered problem's Gymnasium environments (``nco/TSP-v0``, ``nco/CVRP-v0``, a preset's
``nco/HCVRP-v0``, ...).

Entry points are strings, so registering (done by ``import nco``) imports
neither torch nor the environments; ``gymnasium.make`` loads them.
"""

from __future__ import annotations

import gymnasium as gym

from nco.data import PROBLEMS


def register_envs() -> None:
    """Register every problem's ``nco/*`` environment once (single and vector entry points)."""
    for spec in PROBLEMS.values():
        if spec.gym_id is None:  # no learned half yet
            continue
        for gym_id, options in [(spec.gym_id, {}), *((i, {"preset": p}) for i, p in spec.gym_presets.items())]:
            if gym_id in gym.registry:
                continue
            if gym_id in spec.gym_entry:  # the problem's own adapter (a single env)
                gym.register(id=gym_id, entry_point=spec.gym_entry[gym_id], kwargs=options)
            else:
                gym.register(id=gym_id, entry_point="nco.envs.gym_adapters:RoutingEnv",
                             vector_entry_point="nco.envs.gym_adapters:RoutingVectorEnv",
                             kwargs={"problem": spec.name, **options})
        for gym_id, entry in spec.gym_entry.items():  # the problem's further adapters (e.g. online variants)
            if gym_id not in gym.registry:
                gym.register(id=gym_id, entry_point=entry)
