"""nco: neural and classical routing optimization.

>>> import nco
>>> solution = nco.solve(nco.load("X-n101-k25.vrp"), solver="ortools", time_limit=10)

Importing ``nco`` does not import torch; the neural side loads on first use.
"""

from importlib.metadata import PackageNotFoundError, version

from nco.data import (CVRPInstance, InstanceError, NcoError, Solution, SolutionError, SolverError, TSPInstance,
                      read_solution, write_solution)

from nco.envs.registration import register_envs

from .api import load, solve
from .many import solve_many

register_envs()  # nco/TSP-v0 and nco/CVRP-v0 for gymnasium.make

try:
    __version__ = version("nco")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["CVRPInstance", "InstanceError", "NcoError", "Solution", "SolutionError", "SolverError", "TSPInstance",
           "load", "read_solution", "solve", "solve_many", "write_solution", "__version__"]
