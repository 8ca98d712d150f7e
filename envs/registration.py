"""Registration of every registered problem's Gymnasium environment (``nco/TSP-v0``, ``nco/CVRP-v0``, ...).

Entry points are strings, so registering (done by ``import nco``) imports
neither torch nor the environments; ``gymnasium.make`` loads them.
"""

from __future__ import annotations

import gymnasium as gym

from nco.data import PROBLEMS


def register_envs() -> None:
    """Register every problem's ``nco/*`` environment once (single and vector entry points)."""
    for spec in PROBLEMS.values():
        if spec.gym_id is not None and spec.gym_id not in gym.registry:  # None: no learned half yet
            gym.register(id=spec.gym_id, entry_point="nco.envs.gym_adapters:RoutingEnv",
                         vector_entry_point="nco.envs.gym_adapters:RoutingVectorEnv", kwargs={"problem": spec.name})
