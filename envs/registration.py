"""Registration of the Gymnasium environments ``nco/TSP-v0`` and ``nco/CVRP-v0``.

Entry points are strings, so registering (done by ``import nco``) imports
neither torch nor the environments; ``gymnasium.make`` loads them.
"""

from __future__ import annotations

import gymnasium as gym

IDS = {"nco/TSP-v0": ("TSPGymEnv", "TSPVectorEnv"), "nco/CVRP-v0": ("CVRPGymEnv", "CVRPVectorEnv")}


def register_envs() -> None:
    """Register every ``nco/*`` environment once."""
    for env_id, (single, vector) in IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=f"nco.envs.gym_adapters:{single}",
                         vector_entry_point=f"nco.envs.gym_adapters:{vector}")
