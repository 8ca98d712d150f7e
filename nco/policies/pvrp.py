"""What the PVRP gives :class:`nco.policies.camp.CAMPPolicy` to read: nodes, vehicles, pairs and each step's state.

Nodes: (x, y, demand as a fraction of the largest capacity), the depot's
demand 0. Vehicles: capacity (a fraction of the largest), speed, fixed and
unit costs, and the objective's three weights (so that one policy can tell
min-max from min-sum). Pairs: the vehicle's preference for the node and
whether it may serve it. A step: the vehicle's capacity left, its time so
far, how far it lags the longest time, whether it is at the depot, and the
share of customers served.
"""

from __future__ import annotations

import torch

from nco.envs.batch import Batch


class FleetContext:
    """The PVRP's features for the fleet policy."""

    node_features = 3
    vehicle_features = 7
    pair_features = 2
    state_features = 5

    def nodes(self, batch: Batch) -> torch.Tensor:
        """``[B, N, 3]``: x, y, demand."""
        return torch.cat([batch.require("coords"), batch.require("demand")[..., None]], -1)

    def vehicles(self, batch: Batch) -> torch.Tensor:
        """``[B, M, 7]``: capacity, speed, fixed cost, unit cost, the objective's weights."""
        capacity = batch.require("capacity")
        weights = batch.require("weights")[:, None].expand(-1, capacity.shape[1], -1)
        return torch.cat([torch.stack([capacity, batch.require("speed"), batch.require("fixed_cost"),
                                       batch.require("unit_cost")], -1), weights], -1)

    def pairs(self, batch: Batch) -> torch.Tensor:
        """``[B, M, N, 2]``: preference, allowed."""
        return torch.stack([batch.require("preference"), batch.require("allowed").to(batch.dist.dtype)], -1)

    def state(self, state) -> torch.Tensor:
        """``[B, S, M, 5]``: capacity left, time so far, lag behind the longest, at the depot, share served."""
        time = state.time
        lag = time - time.amax(-1, keepdim=True)
        served = (state.served / (state.batch.num_nodes - 1))[..., None].expand_as(time)
        return torch.stack([state.free, time, lag, (state.current == 0).to(time.dtype), served], -1)


CONTEXT = FleetContext()
