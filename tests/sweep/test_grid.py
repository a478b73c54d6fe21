"""Every training algorithm of the project expands into runs whose command line and YAML
files the entry points accept, carrying the run's seed, folders and budget."""
import os
import sys

import pytest
from helpers import load_script, synthetic_dataset

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.data import save_d4rl_hdf5
from mindspore_rl_ext.sweep.algorithms import ALGORITHMS, REPO_ROOT
from mindspore_rl_ext.sweep.grid import load_sweep


def test_every_diffusion_algo_of_the_entry_point_is_a_sweep_algorithm():
    algos = load_script("example/diffusion_ql/train.py").ALGOS
    assert {f"diffusion_{a}" for a in algos} == {n for n in ALGORITHMS if n.startswith("diffusion_")}
    assert {"iql", "bc"} <= set(ALGORITHMS)


def test_every_algo_of_the_iql_entry_point_is_a_sweep_algorithm():
    algos = load_script("example/iql/train.py").ALGOS
    assert set(algos) <= set(ALGORITHMS)
    assert {n for n, a in ALGORITHMS.items() if a.family == "idql"} == set(algos) - {"iql"}


@pytest.fixture
def grid(tmp_path, monkeypatch):
    monkeypatch.setenv("MSRL_EXT_BENCH_PYTHON", sys.executable)  # d3rlpy_iql's venv 'exists'
    save_d4rl_hdf5(synthetic_dataset(300), str(tmp_path / "tiny.hdf5"))
    path = tmp_path / "all.yaml"
    path.write_text(f"algorithms: [{', '.join(ALGORITHMS)}]\n"
                    "datasets: [{dataset: tiny.hdf5, env_id: Hopper-v5}]\nseeds: [3, 4]\n"
                    "steps: 600\noverrides: {trainer_params: {n_steps_per_episode: 200}}\n"
                    "algorithm_overrides: {diffusion_ql: {policy_params: {T: 3}}}\n")
    return str(path)


def test_runs_reach_the_entry_points_with_seed_folders_and_budget(grid, tmp_path):
    sweep, averages = load_sweep(grid)
    assert len(sweep.runs) == 2 * len(ALGORITHMS)
    assert averages["tiny"]["episodes"] == 3  # 300 transitions in episodes of 100
    for run in sweep.runs:
        assert run.episodes == 3  # 600 steps / 200 per episode
        run_dir = str(tmp_path / "out" / run.key)
        env_yaml, algo_yaml = run.write_inputs(run_dir, tensorboard=True)
        argv = run.argv(run_dir, "CPU")
        assert argv[0] == os.path.join(REPO_ROOT, run.algorithm.script)
        args = load_script(run.algorithm.script).parse_args(argv[1:])
        assert args.log_file == os.path.join(run_dir, f"{run.algorithm.name}_train_log.txt")
        config = run.algorithm.load_config(args.env_yaml, args.algo_yaml)
        tp = config["trainer_params"]
        assert (config["seed"], tp["ckpt_path"], tp["tensorboard"]) == (
            run.seed, os.path.join(run_dir, "ckpt"), True)
        assert config["dataset_params"]["dataset"] == str(tmp_path / "tiny.hdf5")
        if run.algorithm.family in ("iql", "d3rlpy"):
            assert args.episode == 3
            bc = run.algorithm.name == "bc"
            assert config["learner_params"]["temperature"] == (0.0 if bc else 3.0)
            assert config["learner_params"].get("behaviour_cloning", False) is bc
        elif run.algorithm.family == "idql":
            assert (args.episode, args.algo, config["algo"]) == (3, run.algorithm.name, run.algorithm.name)
        else:
            assert (args.algo, config["algo"], tp["num_epochs"]) == (run.algorithm.algo_flag,) * 2 + (3,)
            assert tp["results_dir"] == os.path.join(run_dir, "results")
            assert config["policy_params"]["T"] == (3 if run.algorithm.name == "diffusion_ql" else 5)


def test_steps_not_a_multiple_of_the_episode_length_is_refused(grid):
    text = open(grid).read().replace("steps: 600", "steps: 650")
    open(grid, "w").write(text)
    with pytest.raises(ConfigError, match=r"algorithm 'iql', dataset 'tiny': steps 650 is not a "
                                          r"multiple of trainer_params.n_steps_per_episode \(200\)"):
        load_sweep(grid, check_datasets=False)


def test_example_sweep_expands_to_iql_and_bc_on_three_datasets():
    sweep, _ = load_sweep(os.path.join(REPO_ROOT, "example", "sweeps", "iql_bc.yaml"),
                          check_datasets=False)
    assert sweep.grid() == {"algorithms": ["iql", "bc"],
                            "datasets": ["hopper-medium-v0", "halfcheetah-medium-v0",
                                         "walker2d-medium-v0"],
                            "seeds": [0, 1, 2]}
    assert len(sweep.runs) == 18 and {r.episodes for r in sweep.runs} == {50}
