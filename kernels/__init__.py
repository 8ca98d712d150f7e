"""Numba kernels on plain arrays: costs, the solution checker, Split, constructive heuristics, local search.

Nothing here knows about instance classes or torch; ``nco.data`` and
``nco.solvers`` wrap these functions with typed, checked interfaces.
"""

from .checker import MESSAGES, OK, check_sequence
from .construct import nearest_neighbour, savings
from .cost import batch_sequence_cost, batch_tour_cost, batch_tour_length, sequence_cost, tour_cost
from .search import local_search, neighbour_lists, prepared_matrix
from .split import split

__all__ = [
    "MESSAGES", "OK", "check_sequence", "nearest_neighbour", "savings", "batch_sequence_cost",
    "batch_tour_cost", "batch_tour_length", "sequence_cost", "tour_cost", "local_search",
    "neighbour_lists", "prepared_matrix", "split",
]
