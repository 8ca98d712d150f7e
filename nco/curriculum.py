"""Training on smaller instances first: a size curriculum for ``nco train --curriculum``.

A curriculum is a list of stages, each a training size and how long to stay
there, before the run goes on at its own ``--num-nodes`` until its budget ends:
``"20:1.5m,50:2m"`` trains 1.5 minutes on 20-node instances, 2 minutes on 50,
then the rest on the run's size; ``"20:300,50:200"`` counts optimizer steps
instead. Small instances are many times cheaper per step (a POMO step costs
about the cube of the size: starts x decoding steps x nodes), and what the
policy learns there carries over, so a short run reaches a given gap on the
large size sooner (measured in ``benchmarks/results/cpu/curriculum.md``).
All stages of one curriculum count in the same unit, so the size at any moment
follows from the step count or the training time alone, which Lightning keeps
across a resume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nco.data import NcoError

_STAGE = re.compile(r"^\s*(\d+)\s*:\s*(\d+(?:\.\d*)?|\.\d+)\s*(m|min)?\s*$")


@dataclass(frozen=True)
class Curriculum:
    """Stages ``(size, amount)`` in ``unit`` (``steps`` or ``minutes``), then ``final`` for the rest."""

    stages: tuple[tuple[int, float], ...]
    unit: str
    final: int

    def size_at(self, steps: int, minutes: float) -> int:
        """The training size after ``steps`` optimizer steps and ``minutes`` of training."""
        done = steps if self.unit == "steps" else minutes
        end = 0.0
        for size, amount in self.stages:
            end += amount
            if done < end:
                return size
        return self.final


def parse_curriculum(text: str | None, final: int) -> Curriculum | None:
    """``"SIZE:AMOUNT,..."`` (AMOUNT: steps, or minutes with an ``m`` suffix) as a :class:`Curriculum`;
    None for an empty text. A malformed one raises an :class:`NcoError` naming ``--curriculum``."""
    if text is None or not str(text).strip():
        return None
    stages, units = [], set()
    for part in str(text).split(","):
        match = _STAGE.match(part)
        if not match or int(match.group(1)) < 2 or float(match.group(2)) <= 0:
            raise NcoError(f"--curriculum: expected SIZE:STEPS or SIZE:MINUTESm stages separated by commas "
                           f"(such as 20:300,50:200 or 20:1.5m,50:2m), sizes >= 2 and amounts > 0; got {part!r}")
        stages.append((int(match.group(1)), float(match.group(2))))
        units.add("minutes" if match.group(3) else "steps")
    if len(units) > 1:
        raise NcoError(f"--curriculum: count every stage in steps or every stage in minutes, not both ({text!r})")
    return Curriculum(tuple(stages), units.pop(), final)
