"""The Pointer Network (Vinyals et al. 2015) as trained with REINFORCE by Bello et al. (2016).

An LSTM reads the embedded cities in input order; a decoder LSTM, fed the
embedding of the last chosen city, produces a query that glimpses at the
encoder states and then points at the next city (additive attention with tanh
clipping). Coordinates only, no depot: the registry lists the problems it solves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nco.envs.batch import Batch

from .contracts import Pace, PolicyModule


@dataclass
class PointerCache:
    """Encoder outputs, their projections, and the decoder's recurrent state (advanced every step)."""

    embedded: torch.Tensor  # [B, N, D]
    ref_glimpse: torch.Tensor  # [B, N, D]
    ref_pointer: torch.Tensor  # [B, N, D]
    hidden: tuple[torch.Tensor, torch.Tensor] | None  # decoder (h, c), [B*S, D] each
    encoder_final: tuple[torch.Tensor, torch.Tensor]  # [B, D] each


class PointerNetwork(PolicyModule):
    """Pointer network policy (see :func:`nco.policies.make_policy` for the problems it solves)."""

    def __init__(self, problem: str, embed_dim: int = 128, hidden_dim: int = 128, tanh_clip: float = 10.0):
        super().__init__()
        self.problem = problem
        self.tanh_clip = tanh_clip
        self.embed = nn.Linear(2, embed_dim)
        self.encoder = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.decoder = nn.LSTMCell(embed_dim, hidden_dim)
        self.start = nn.Parameter(torch.empty(embed_dim).uniform_(-1, 1))
        self.w_ref_g = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.w_q_g = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.v_g = nn.Parameter(torch.empty(hidden_dim).uniform_(-0.1, 0.1))
        self.w_ref_p = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.w_q_p = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.v_p = nn.Parameter(torch.empty(hidden_dim).uniform_(-0.1, 0.1))

    def encode(self, batch: Batch, pace: Pace | None = None) -> PointerCache:
        """Run the encoder LSTM over the cities (one layer: ``pace`` is not called)."""
        if batch.coords is None:
            from nco.data import InstanceError

            raise InstanceError("this policy reads node coordinates; the instance has only a matrix", field="coords")
        emb = self.embed(batch.coords)
        enc, (h, c) = self.encoder(emb)
        return PointerCache(emb, self.w_ref_g(enc), self.w_ref_p(enc), None, (h[0], c[0]))

    def logits(self, cache: PointerCache, state) -> torch.Tensor:
        """Advance the decoder one step from the last city and score the next one."""
        b, s = state.current.shape
        if state.steps == 0:
            inp = self.start.to(cache.embedded.dtype).expand(b * s, -1)
            h0, c0 = cache.encoder_final
            hidden = (h0.repeat_interleave(s, 0), c0.repeat_interleave(s, 0))
        else:
            inp = cache.embedded[state.rows, state.current].reshape(b * s, -1)
            assert cache.hidden is not None  # set by the first step
            hidden = cache.hidden
        h, c = self.decoder(inp, hidden)
        cache.hidden = (h, c)
        mask = state.mask  # [B, S, N]
        q = h.view(b, s, -1)
        att = torch.tanh(cache.ref_glimpse[:, None] + self.w_q_g(q)[:, :, None]) @ self.v_g  # [B, S, N]
        att = torch.softmax(att.float().masked_fill(~mask, float("-inf")), -1).to(q.dtype)
        glimpse = att @ cache.ref_glimpse  # [B, S, D]
        scores = torch.tanh(cache.ref_pointer[:, None] + self.w_q_p(glimpse)[:, :, None]) @ self.v_p
        return (self.tanh_clip * torch.tanh(scores.float())).masked_fill(~mask, float("-inf"))
