"""Design grids and calibration, serially or on a Dask cluster.

A grid file is a study file plus a ``[grid]`` table (:mod:`~dosefind.grid.spec`);
:func:`run_grid` evaluates every cell (parameter set x design x scenario) on a
scheduler (:mod:`~dosefind.grid.schedulers`), writing one Parquet file per finished
cell (:mod:`~dosefind.grid.store`); :func:`calibrate` ranks the parameter sets
(:mod:`~dosefind.grid.calibrate`).  docs/grid.md is the user guide.
"""

from dosefind.grid.runner import GridRun, Progress, estimate_cost, run_grid
from dosefind.grid.spec import Cell, Grid, load_grid, parse_grid
from dosefind.grid.store import read_results

__all__ = ["Cell", "Grid", "GridRun", "Progress", "estimate_cost", "load_grid", "parse_grid", "read_results",
           "run_grid"]
