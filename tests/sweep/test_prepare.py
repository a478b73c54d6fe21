"""``sweep.prepare``: the sweep files are the one list of the datasets to generate."""
import os
import sys

import pytest

from mindspore_rl_ext.data import load_dataset
from mindspore_rl_ext.sweep.algorithms import REPO_ROOT
from mindspore_rl_ext.sweep.prepare import generated_datasets, main

SCORE_TABLE_GRIDS = [os.path.join(REPO_ROOT, "example", "sweeps", f"score_table_{name}.yaml")
                     for name in ("locomotion", "pointmaze")]


def write_grid(tmp_path, name, datasets):
    path = tmp_path / name
    path.write_text(f"algorithms: [bc]\ndatasets: [{', '.join(datasets)}]\nseeds: 1\n"
                    "steps: 1000\n")
    return str(path)


def test_the_score_table_grids_name_nine_datasets_the_generator_makes(monkeypatch):
    monkeypatch.setenv("MSRL_EXT_BENCH_PYTHON", sys.executable)  # d3rlpy_iql's venv 'exists'
    pairs = [(d.env, d.level) for d in generated_datasets(SCORE_TABLE_GRIDS)]
    assert pairs == [("hopper", "medium"), ("hopper", "medium-expert"),
                     ("halfcheetah", "medium"), ("halfcheetah", "medium-expert"),
                     ("walker2d", "medium"), ("walker2d", "medium-expert"),
                     ("pointmaze", "umaze"), ("pointmaze", "medium"), ("pointmaze", "large")]


def test_generates_what_is_missing_once_and_leaves_other_ids(tmp_path, capsys):
    root = tmp_path / "root"
    first = write_grid(tmp_path, "a.yaml", ["msrl_ext/hopper/random-v0", "msrl_ext/x/y-v0"])
    second = write_grid(tmp_path, "b.yaml", ["msrl_ext/hopper/random-v0"])
    assert main([first, second, "--steps", "300", "--seed", "3", "--dataset-root", str(root)]) == 0
    data = load_dataset("msrl_ext/hopper/random-v0", str(root))
    assert len(data.rewards) == 300
    assert sorted(os.listdir(root / "msrl_ext")) == ["hopper", "namespace_metadata.json"]
    written = os.path.getmtime(root / "msrl_ext" / "hopper" / "random-v0")
    assert main([first, "--steps", "300", "--dataset-root", str(root)]) == 0
    assert os.path.getmtime(root / "msrl_ext" / "hopper" / "random-v0") == written
    assert "msrl_ext/hopper/random-v0: already in" in capsys.readouterr().err


def test_a_missing_replay_level_is_refused_before_anything_is_generated(tmp_path, capsys):
    root = tmp_path / "root"
    grid = write_grid(tmp_path, "g.yaml", ["msrl_ext/hopper/random-v0",
                                           "msrl_ext/hopper/medium-replay-v0"])
    assert main([grid, "--steps", "300", "--dataset-root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "'msrl_ext/hopper/medium-replay-v0' is not in" in err and "--from-transitions" in err
    assert not (root / "msrl_ext" / "hopper" / "random-v0").exists()


def test_a_bad_sweep_file_is_refused_naming_it(tmp_path, capsys):
    grid = tmp_path / "bad.yaml"
    grid.write_text("algorithms: [nope]\ndatasets: [msrl_ext/hopper/random-v0]\nseeds: 1\n"
                    "steps: 1000\n")
    assert main([str(grid), "--dataset-root", str(tmp_path / "root")]) == 1
    err = capsys.readouterr().err
    assert f"sweep file '{grid}'" in err and "unknown algorithm 'nope'" in err
    assert not (tmp_path / "root" / "msrl_ext").exists()


@pytest.mark.parametrize("dataset_id", ["msrl_ext/hopper/bogus-v0", "msrl_ext/hopper/random-v1",
                                        "D4RL/hopper/medium-v2", "default"])
def test_ids_the_generator_does_not_make_are_left_to_the_sweep(tmp_path, dataset_id):
    grid = write_grid(tmp_path, "g.yaml", [dataset_id])
    assert generated_datasets([grid]) == []
