"""The learned online router: a small network that scores each candidate path of an arriving flow.

Each path is read through :func:`nco.envs.paths_online.path_features` (its telemetry utilisation, its utilisation
with the source's own recent placements and this flow added, its length and cost, the telemetry's age); one
MLP shared by every path turns them into a score, and a softmax over the pair's paths gives the choice. The
features are per path, so one model serves any network and any number of paths.
"""

from __future__ import annotations

import torch
from torch import nn

from nco.envs.paths_online import FEATURES, FlowState, path_features


class PathScorer(nn.Module):
    """Scores ``[B, K]`` of the arriving flows' candidate paths (``-inf`` on empty slots)."""

    problem = "paths"

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.hidden = hidden
        self.mlp = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, state: FlowState) -> torch.Tensor:
        """``[B, K]`` a score per candidate path of each episode's arriving flow."""
        logits = self.mlp(path_features(state)).squeeze(-1)
        return logits.masked_fill(~state.mask, float("-inf"))

    def act(self, state: FlowState, greedy: bool = False,
            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A path index ``[B]`` per arriving flow (the best, or sampled) and its log-probability ``[B]``."""
        log_p = torch.log_softmax(self(state), -1)
        action = log_p.argmax(-1) if greedy else torch.multinomial(log_p.exp(), 1, generator=generator)[:, 0]
        return action, log_p.gather(1, action[:, None])[:, 0]
