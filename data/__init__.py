"""Instances, solutions, generators and file formats (``nco.data``)."""

from .cities import City, bundled_cities, load_city
from .city_build import build_city
from .errors import InstanceError, NcoError, SolutionError, SolverError
from .cvrp import CVRP_CAPACITY, CVRPInstance, capacity_for, random_cvrp
from .generate import KOOL_TEST_SEED, KOOL_VALIDATION_SEED, kool_test_set
from .instances import Instance, euclidean_matrix
from .problems import DEFAULT_PROBLEM, PROBLEMS, Problem, get_problem, problem_of
from .tsp import TSPInstance, random_tsp
from .known import gap, known_value
from .osrm import OsrmError, install_osrm
from .solution import Solution, evaluate, from_sequence, make_solution, to_sequence, tour_to_routes
from .tsplib_distances import coordinate_distances, explicit_matrix
from .vrplib_io import read_instance, read_solution, write_solution

__all__ = [
    "City", "build_city", "bundled_cities", "load_city", "OsrmError", "install_osrm",
    "InstanceError", "NcoError", "SolutionError", "SolverError", "CVRP_CAPACITY", "capacity_for",
    "KOOL_TEST_SEED", "KOOL_VALIDATION_SEED", "DEFAULT_PROBLEM", "PROBLEMS", "Problem", "get_problem", "problem_of",
    "kool_test_set", "random_cvrp", "random_tsp", "CVRPInstance",
    "Instance", "TSPInstance", "euclidean_matrix", "gap", "known_value", "Solution", "evaluate",
    "from_sequence", "make_solution", "to_sequence", "tour_to_routes", "coordinate_distances",
    "explicit_matrix", "read_instance", "read_solution", "write_solution",
]
