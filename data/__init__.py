"""Instances, solutions, generators and file formats (``nco.data``)."""

from .cities import City, build_city, bundled_cities, load_city
from .errors import InstanceError, NcoError, SolutionError, SolverError
from .generate import (CVRP_CAPACITY, capacity_for, kool_cvrp_arrays, kool_test_set, kool_tsp_arrays, random_cvrp,
                       random_tsp)
from .instances import CVRPInstance, Instance, TSPInstance, euclidean_matrix
from .known import gap, known_value
from .osrm import OsrmError, install_osrm
from .solution import Solution, evaluate, from_sequence, make_solution, to_sequence, tour_to_routes
from .tsplib_distances import coordinate_distances, explicit_matrix
from .vrplib_io import read_instance, read_solution, write_solution

__all__ = [
    "City", "build_city", "bundled_cities", "load_city", "OsrmError", "install_osrm",
    "InstanceError", "NcoError", "SolutionError", "SolverError", "CVRP_CAPACITY", "capacity_for",
    "kool_cvrp_arrays", "kool_test_set", "kool_tsp_arrays", "random_cvrp", "random_tsp", "CVRPInstance",
    "Instance", "TSPInstance", "euclidean_matrix", "gap", "known_value", "Solution", "evaluate",
    "from_sequence", "make_solution", "to_sequence", "tour_to_routes", "coordinate_distances",
    "explicit_matrix", "read_instance", "read_solution", "write_solution",
]
