"""Saving and loading trained policies: a small, self-describing file read with ``weights_only=True``.

A policy file is a dict of plain types and tensors: ``format``, ``version``,
``problem``, ``policy`` (am, pomo, ptrnet), ``num_nodes`` (training size),
``config`` (hyperparameter overrides), ``state_dict`` and ``training`` (how it
was trained). Lightning checkpoints written by ``nco train`` load too.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nco.data import NcoError
from nco.data.atomic import atomic_path

from .policies import PolicyModule, make_policy

FORMAT = "nco-policy"
VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "checkpoints"


class CheckpointError(NcoError, ValueError):
    """A checkpoint file is missing, malformed, or for another problem or policy."""


def save_policy(path: str | os.PathLike, policy: nn.Module, name: str, problem: str, num_nodes: int,
                config: dict[str, Any] | None = None, training: dict[str, Any] | None = None,
                half: bool = False) -> Path:
    """Write a policy file atomically (temporary file, then rename).

    ``half`` stores floating-point weights as float16 (half the size, for the
    shipped files); loading casts them back to the model's float32.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, "problem": problem, "policy": name, "num_nodes": int(num_nodes),
               "config": dict(config or {}), "training": dict(training or {}),
               "state_dict": {k: _stored(v, half) for k, v in policy.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    tensor = tensor.detach().cpu()
    return tensor.half() if half and tensor.is_floating_point() else tensor


def ship(source: str | os.PathLike) -> Path:
    """Copy a trained policy file into the package as ``<problem>-<policy>-<n>.pt`` (a fleet's:
    ``<problem>-<policy>-<preset>.pt``), float16."""
    model, meta = load_policy(source)
    name = f"{meta['problem']}-{meta['policy']}-{meta['training'].get('preset') or meta['num_nodes']}.pt"
    return save_policy(SHIPPED / name, model, meta["policy"], meta["problem"], meta["num_nodes"],
                       meta["config"], meta["training"], half=True)


def verify_archive(path: str | os.PathLike) -> None:
    """Check that ``path`` is a whole torch checkpoint: a zip archive whose every record matches its CRC-32
    (torch.save writes them; a truncated file or flipped bytes fail here instead of loading silently)."""
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    if not zipfile.is_zipfile(path):  # say so, not pickle's error
        raise CheckpointError(f"{path}: not a readable checkpoint: expected a policy file written by `nco train` "
                              "(a torch zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({exc})") from None
    if bad is not None:
        raise CheckpointError(f"{path}: corrupt checkpoint: its record {bad} fails its checksum")


def _checked_meta(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a policy file, each field of the kind it must be, else a :class:`CheckpointError`."""
    from nco.data import get_problem

    from .policies import PRESETS

    for key, kind in (("problem", str), ("policy", str), ("num_nodes", int), ("config", dict),
                      ("state_dict", dict)):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise CheckpointError(f"{path}: field {key!r}: expected {kind.__name__}, got {data.get(key)!r:.60}")
    try:
        get_problem(data["problem"])
    except NcoError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    if data["policy"] not in PRESETS:
        raise CheckpointError(f"{path}: field 'policy': expected one of {', '.join(PRESETS)}, got {data['policy']!r}")
    if not isinstance(data.get("training", {}), dict):
        raise CheckpointError(f"{path}: field 'training': expected a dict")
    return data


def _read(path: Path) -> dict[str, Any]:
    verify_archive(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # torch raises many kinds for a corrupt or foreign file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict of tensors, got {type(data).__name__}")
    if data.get("format") == FORMAT:
        return _checked_meta(path, data)
    hp = data.get("hyper_parameters")
    if isinstance(hp, dict) and "state_dict" in data and "policy" in hp:  # a Lightning checkpoint of nco train
        weights = {k[len("policy."):]: v for k, v in data["state_dict"].items() if k.startswith("policy.")}
        return _checked_meta(path, {"format": FORMAT, "version": VERSION, "problem": hp.get("problem"),
                                    "policy": hp["policy"], "num_nodes": hp.get("num_nodes"),
                                    "config": hp.get("policy_config") or {}, "training": {}, "state_dict": weights})
    raise CheckpointError(f"{path}: not an nco policy (expected format {FORMAT!r} or a checkpoint of nco train)")


def load_policy(path: str | os.PathLike, problem: str | None = None,
                policy: str | None = None) -> tuple[PolicyModule, dict[str, Any]]:
    """The policy in ``path`` (eval mode, CPU) and its metadata.

    ``problem`` / ``policy``, when given, must match the file's, or a
    :class:`CheckpointError` says what the file holds instead.
    """
    path = Path(path)
    data = _read(path)
    expect(path, data, problem, policy)
    try:
        model = make_policy(data["policy"], data["problem"], **data["config"])
    except TypeError as exc:  # a config key the policy does not take
        raise CheckpointError(f"{path}: field 'config': {exc}") from None
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit a {data['policy']} policy ({exc})") from None
    broken = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f"{path}: weights {broken[0]!r} hold NaN or infinite values ({len(broken)} tensors)")
    model.eval()
    meta = {k: v for k, v in data.items() if k != "state_dict"}
    return model, meta


def expect(path: str | os.PathLike, meta: dict[str, Any], problem: str | None = None,
           policy: str | None = None, preset: str | None = None, vehicles: int | None = None) -> None:
    """Raise a :class:`CheckpointError` naming ``path`` unless its ``meta`` is for ``problem`` and ``policy``,
    and, for a fleet, was trained on ``preset`` and a vehicle range holding ``vehicles`` (any of them None:
    anything goes)."""
    if problem is not None and meta["problem"] != problem:
        raise CheckpointError(f"{path}: a {meta['policy']} policy for {meta['problem'].upper()}, "
                              f"not for {problem.upper()}")
    if policy is not None and meta["policy"] != policy:
        raise CheckpointError(f"{path}: a {meta['policy']} policy, not {policy}")
    training = meta.get("training", {})
    if preset is not None and training.get("preset") != preset:
        raise CheckpointError(f"{path}: trained for the {training.get('preset')} preset, not for {preset} "
                              "instances")
    span = str(training.get("num_vehicles", "")).split("-")
    if vehicles is not None and span[0] and not int(span[0]) <= vehicles <= int(span[-1]):
        raise CheckpointError(f"{path}: trained for {training['num_vehicles']} vehicles, not for {vehicles}")


def shipped(problem: str, num_nodes: int, policy: str = "pomo", preset: str | None = None) -> Path:
    """The shipped checkpoint for ``problem`` whose training size is nearest ``num_nodes``; for a fleet's
    ``preset``, the one trained on it (over a range of sizes and vehicles)."""
    if preset is not None:
        path = SHIPPED / f"{problem}-{policy}-{preset}.pt"
        if not path.exists():
            raise CheckpointError(f"no shipped {policy} checkpoint for {preset} instances in {SHIPPED}")
        return path
    prefix = f"{problem}-{policy}-"
    found = sorted(SHIPPED.glob(f"{prefix}*.pt"))
    if not found:
        raise CheckpointError(f"no shipped {policy} checkpoint for {problem.upper()} in {SHIPPED}")
    sizes = {int(p.stem[len(prefix):]): p for p in found}
    return sizes[min(sizes, key=lambda s: (abs(s - num_nodes), s))]
