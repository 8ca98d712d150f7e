"""The wall clock inside compiled code, for kernels that stop at a deadline.

A deadline is a ``time.perf_counter()`` value; a negative one means none.
Reading the clock leaves compiled code for Python (about a microsecond,
measured), so the passes of local search ask only after a batch of work
(``CHECK_EVERY`` of its evaluations), not at every move.
"""

from __future__ import annotations

import time

from numba import njit, objmode

CHECK_EVERY = 1024  # move evaluations between two looks at the clock: well under 1% of a pass's time


@njit(cache=True)
def now() -> float:
    """``time.perf_counter()``, callable from compiled code."""
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def past(deadline: float) -> bool:
    """Whether ``deadline`` (a ``perf_counter`` value; negative: none) has passed."""
    return deadline >= 0 and now() >= deadline
