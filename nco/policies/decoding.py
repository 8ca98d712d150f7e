"""One decoding loop for every policy: greedy, sampling, multi-start (POMO) and x8 augmentation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nco.envs.batch import Batch


@dataclass
class Rollout:
    """Actions ``[B, S, T]``, summed log-probabilities ``[B, S]`` and rewards ``[B, S]``."""

    actions: torch.Tensor
    log_prob: torch.Tensor
    reward: torch.Tensor


def augment(batch: Batch, factor: int = 8) -> Batch:
    """The batch ``factor`` times over (1 or 8), coordinates reflected/swapped in the unit square.

    The eight symmetries of the square preserve Euclidean distances, so the
    matrix is shared; instance ``b`` becomes rows ``b*factor .. b*factor+7``.
    """
    if factor == 1:
        return batch
    if factor != 8 or batch.coords is None:
        raise ValueError("augmentation needs coordinates and a factor of 1 or 8")
    x, y = batch.coords[..., :1], batch.coords[..., 1:]
    variants = [(x, y), (y, x), (1 - x, y), (y, 1 - x), (x, 1 - y), (1 - y, x), (1 - x, 1 - y), (1 - y, 1 - x)]
    coords = torch.stack([torch.cat(v, -1) for v in variants], 1).flatten(0, 1)
    out = batch.repeat(8)
    out.coords = coords
    return out


def usable_factor(batch: Batch, factor: int) -> int:
    """``factor``, or 1 when the batch has no coordinates (the symmetries act on coordinates)."""
    return factor if batch.coords is not None else 1


def rollout(policy, env, batch: Batch, decode: str = "greedy", num_starts: int = 1,
            multistart: bool = False, temperature: float = 1.0) -> Rollout:
    """Build complete solutions for every instance of ``batch``.

    ``multistart`` forces rollout ``s`` to begin at the env's start node ``s``
    (POMO); its forced first action adds nothing to the log-probability.
    """
    cache = policy.encode(batch)
    state = env.reset(batch, num_starts)
    actions, log_prob = [], torch.zeros(state.current.shape, device=batch.dist.device)
    if multistart:
        first = env.start_actions(state)
        actions.append(first)
        state = env.step(state, first)
    while not state.done:
        logits = policy.logits(cache, state) / temperature
        logp = torch.log_softmax(logits, -1)
        if decode == "greedy":
            action = logits.argmax(-1)
        elif decode == "sample":
            b, s, n = logp.shape
            action = torch.multinomial(logp.exp().view(-1, n), 1).view(b, s)
        else:
            raise ValueError(f"unknown decoding {decode!r}; expected 'greedy' or 'sample'")
        log_prob = log_prob + logp.gather(-1, action[..., None]).squeeze(-1)
        actions.append(action)
        state = env.step(state, action)
    return Rollout(torch.stack(actions, -1), log_prob, state.reward)


def best_of(result: Rollout, group: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Best reward and its actions per instance, over starts and ``group`` consecutive (augmented) rows.

    Returns ``(reward [B], actions [B, T])`` with B the un-augmented batch size.
    """
    b, s, t = result.actions.shape
    reward = result.reward.reshape(b // group, group * s)
    actions = result.actions.reshape(b // group, group * s, t)
    best = reward.argmax(1)
    rows = torch.arange(reward.shape[0], device=reward.device)
    return reward[rows, best], actions[rows, best]
