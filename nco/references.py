"""Published reference costs of the Kool et al. (2019) data sets, used for gaps."""

# Mean optimal (Concorde) or best-found (LKH3) cost on the 10,000 test instances, Kool et al. (2019), Table 1.
PUBLISHED_REFERENCE = {("tsp", 20): 3.84, ("tsp", 50): 5.70, ("tsp", 100): 7.76,
                       ("cvrp", 20): 6.14, ("cvrp", 50): 10.38, ("cvrp", 100): 15.65}
PUBLISHED_SOLVER = {"tsp": "Concorde", "cvrp": "LKH3"}
