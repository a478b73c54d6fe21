"""Every shipped sweep grid (example/sweeps/*.yaml) still loads: its algorithms, datasets
and overrides are accepted by today's entry points' configs, and it expands to the
algorithms x datasets x seeds runs its header promises."""
import glob
import os
import sys

import pytest
import yaml

from mindspore_rl_ext.sweep.algorithms import REPO_ROOT
from mindspore_rl_ext.sweep.grid import load_sweep

GRIDS = sorted(glob.glob(os.path.join(REPO_ROOT, "example", "sweeps", "*.yaml")))


def test_the_grids_are_found():
    names = {os.path.basename(g) for g in GRIDS}
    assert {"score_table_locomotion.yaml", "score_table_pointmaze.yaml", "iql_bc.yaml"} <= names


@pytest.mark.parametrize("grid", GRIDS, ids=os.path.basename)
def test_example_grid_loads(grid, monkeypatch):
    monkeypatch.setenv("MSRL_EXT_BENCH_PYTHON", sys.executable)  # d3rlpy_iql needs a venv
    sweep, _ = load_sweep(grid, check_datasets=False)
    with open(grid) as f:
        raw = yaml.safe_load(f)
    seeds = raw["seeds"] if isinstance(raw["seeds"], int) else len(raw["seeds"])
    assert len(sweep.runs) == len(raw["algorithms"]) * len(raw["datasets"]) * seeds
