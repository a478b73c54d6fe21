"""The peer algorithm d3rlpy_iql: its dataset export reads back as the source, the sweep
grid accepts exactly the overrides it maps (and refuses the rest, or a missing bench venv,
before any run), its command line reaches d3rlpy_iql.py with the config's values, and its
metrics.csv is the one core/metrics.py writes. Slow: a tiny sweep through the bench venv
to the report, and a run interrupted by SIGTERM then resumed equals an uninterrupted one."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from helpers import synthetic_dataset

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.metrics import FIXED_HEAD, FIXED_TAIL, read_metrics
from mindspore_rl_ext.data import save_d4rl_hdf5
from mindspore_rl_ext.sweep.algorithms import ALGORITHMS, REPO_ROOT
from mindspore_rl_ext.sweep.grid import load_sweep
from mindspore_rl_ext.sweep.peers import d3rlpy_iql, d3rlpy_iql_launch
from mindspore_rl_ext.sweep.peers.bench_venv import ENV_VAR, SETUP_CMD, bench_python
from mindspore_rl_ext.sweep.peers.export import export_dataset
from mindspore_rl_ext.sweep.report import eval_curve

# With test_sweep.py on one xdist worker: the slow tests start Ray.
pytestmark = pytest.mark.xdist_group("ray")
MAPPED = {"seed": 7,
          "dataset_params": {"batch_size": 64},
          "policy_params": {"hidden_sizes": [32, 16]},
          "learner_params": {"gamma": 0.98, "actor_lr": 1e-4, "critic_lr": 2e-4,
                             "update_factor": 0.01, "expectile": 0.8, "temperature": 5.0,
                             "exp_adv_max": 50.0, "actor_lr_schedule": "constant"},
          "trainer_params": {"n_steps_per_episode": 100, "eval_per_episode": 2,
                             "save_per_episode": 3, "num_evaluate_episode": 4}}


def mixed_dataset():
    """Episodes ending in terminals and timeouts, with reference scores."""
    ds = synthetic_dataset(300, episode_len=50, seed=1)
    for end in (50, 200):  # two of the six episodes terminate instead of timing out
        ds.terminals[end - 1], ds.timeouts[end - 1] = 1.0, 0.0
    return ds.validate()


def test_export_reads_back_as_the_source(tmp_path):
    source = mixed_dataset()
    data = d3rlpy_iql.load_export(export_dataset(source, str(tmp_path / "data.npz")))
    for key in ("observations", "actions", "rewards", "next_observations", "terminals",
                "timeouts", "episode_ends"):
        assert data[key].dtype == getattr(source, key).dtype
        np.testing.assert_array_equal(data[key], getattr(source, key), err_msg=key)
    assert (data["env_id"], data["source"]) == ("Hopper-v5", "synthetic")
    assert (data["ref_min_score"], data["ref_max_score"]) == (-20.272305, 3234.3)
    assert d3rlpy_iql.normalized_score(1000.0, data["ref_min_score"], data["ref_max_score"]) \
        == pytest.approx(100 * (1000 + 20.272305) / (3234.3 + 20.272305))
    # random next_observations: every row inside an episode differs from the next row
    assert d3rlpy_iql.next_row_mismatches(data) == 300 - 6
    source.ref_min_score = source.ref_max_score = None
    source.next_observations[:-1] = source.observations[1:]
    data = d3rlpy_iql.load_export(export_dataset(source, str(tmp_path / "norefs.npz")))
    assert data["ref_min_score"] is None and d3rlpy_iql.normalized_score(5.0, None, None) is None
    assert d3rlpy_iql.next_row_mismatches(data) == 0


def test_metrics_file_has_core_columns_and_drops_rows_after_the_resumed_episode(tmp_path):
    path = str(tmp_path / "metrics.csv")
    first = d3rlpy_iql.MetricsFile(path)
    first.begin(0)
    for episode in (1, 2, 3):
        first.append(episode, 10 * episode, {"critic_loss": 1.0 / episode, "actor_loss": 2.0},
                     *((episode * 5.0, episode * 0.5) if episode != 2 else (None, None)))
    with open(path, newline="") as f:
        assert next(csv.reader(f)) == [*FIXED_HEAD, "critic_loss", "actor_loss", *FIXED_TAIL]
    rows = read_metrics(path)
    assert [r["eval_return"] for r in rows] == [5.0, None, 15.0]
    metric, steps, scores = eval_curve(path)
    assert metric == "normalized_score"
    assert steps.tolist() == [10, 30] and scores.tolist() == [0.5, 1.5]
    resumed = d3rlpy_iql.MetricsFile(path)
    resumed.begin(2)  # resumed from the checkpoint of episode 2: episode 3 is trained again
    resumed.append(3, 30, {"critic_loss": 0.25, "actor_loss": 2.0})
    rows = read_metrics(path)
    assert [r["episode"] for r in rows] == [1, 2, 3] and rows[2]["critic_loss"] == 0.25
    assert rows[2]["wall_time_s"] >= rows[1]["wall_time_s"]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny dataset file; the bench venv 'exists' (any existing file passes the check)."""
    monkeypatch.setenv(ENV_VAR, sys.executable)
    save_d4rl_hdf5(synthetic_dataset(300), str(tmp_path / "tiny.hdf5"))
    return tmp_path


def write_grid(folder, overrides, algorithms=("d3rlpy_iql",)):
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump({
        "algorithms": list(algorithms), "datasets": [{"dataset": "tiny.hdf5", "env_id": "Hopper-v5"}],
        "seeds": [3], "steps": 600, "overrides": overrides}))
    return str(path)


def test_grid_maps_every_accepted_override_onto_the_d3rlpy_command_line(tiny):
    sweep, _ = load_sweep(write_grid(tiny, MAPPED), check_datasets=False)
    (run,) = sweep.runs
    assert run.episodes == 6  # 600 steps / 100 per episode
    run_dir = str(tiny / "out" / run.key)
    run.write_inputs(run_dir, tensorboard=False)
    argv = run.argv(run_dir, "CPU")
    assert argv[0] == os.path.join(REPO_ROOT, "mindspore_rl_ext/sweep/peers/d3rlpy_iql_launch.py")
    launch = d3rlpy_iql_launch.parse_args(argv[1:])
    assert (launch.episode, launch.device_target) == (6, "CPU")
    assert launch.log_file == os.path.join(run_dir, "d3rlpy_iql_train_log.txt")
    config = ALGORITHMS["d3rlpy_iql"].load_config(launch.env_yaml, launch.algo_yaml)
    script = d3rlpy_iql_launch.script_argv(config, launch.episode, "data.npz",
                                           launch.log_file, "cpu")
    assert script[0] == d3rlpy_iql_launch.SCRIPT
    args = d3rlpy_iql.parse_args(script[1:])
    lp, tp = MAPPED["learner_params"], MAPPED["trainer_params"]
    assert vars(args) == {
        "data": "data.npz", "episodes": 6, "log_file": launch.log_file,
        "ckpt_dir": os.path.join(run_dir, "ckpt"), "seed": 3,  # the run's seed wins
        "steps_per_episode": tp["n_steps_per_episode"], "eval_per_episode": tp["eval_per_episode"],
        "save_per_episode": tp["save_per_episode"], "num_eval_episodes": tp["num_evaluate_episode"],
        "batch_size": 64, "hidden_sizes": [32, 16], "gamma": lp["gamma"], "actor_lr": lp["actor_lr"],
        "critic_lr": lp["critic_lr"], "tau": lp["update_factor"], "expectile": lp["expectile"],
        "temperature": lp["temperature"], "max_weight": lp["exp_adv_max"],
        "actor_lr_schedule": "constant", "device": "cpu", "threads": args.threads}


def test_defaults_are_the_iql_paper_locomotion_values(tiny):
    sweep, _ = load_sweep(write_grid(tiny, {"trainer_params": {"n_steps_per_episode": 200}}),
                          check_datasets=False)
    run_dir = str(tiny / "out")
    env_yaml, algo_yaml = sweep.runs[0].write_inputs(run_dir, tensorboard=True)
    config = ALGORITHMS["d3rlpy_iql"].load_config(env_yaml, algo_yaml)
    argv = d3rlpy_iql_launch.script_argv(config, 3, "d.npz", "l.txt", "cpu")
    args = d3rlpy_iql.parse_args(argv[1:])
    assert (args.batch_size, args.hidden_sizes) == (256, [256, 256])
    assert (args.gamma, args.tau) == (0.99, 0.005)
    assert (args.actor_lr, args.critic_lr, args.actor_lr_schedule) == (3e-4, 3e-4, "cosine")
    assert (args.expectile, args.temperature, args.max_weight) == (0.7, 3.0, 100.0)
    assert (args.eval_per_episode, args.save_per_episode, args.num_eval_episodes) == (5, 5, 10)
    assert config["trainer_params"]["tensorboard"] is True  # accepted; the log notes it is unused


@pytest.mark.parametrize("override, message", [
    ({"trainer_params": {"max_ckpt_num": 3}}, "overrides.trainer_params: unknown key 'max_ckpt_num'"),
    ({"learner_params": {"value_lr": 1e-3}}, "overrides.learner_params: unknown key 'value_lr'"),
    ({"dataset_params": {"reward_transform": "none"}},
     "overrides.dataset_params: unknown key 'reward_transform'"),
    ({"domain": "antmaze"}, "overrides: unknown key 'domain'"),
    ({"learner_params": {"expectile": 1.5}}, "learner_params.expectile: must be a number in (0, 1)"),
    ({"trainer_params": {"eval_per_episode": -1}},
     "trainer_params.eval_per_episode: must be an int >= 0"),
])
def test_grid_refuses_what_d3rlpy_iql_does_not_map(tiny, override, message):
    with pytest.raises(ConfigError) as e:
        load_sweep(write_grid(tiny, override), check_datasets=False)
    assert "algorithm 'd3rlpy_iql', dataset 'tiny': " in str(e.value) and message in str(e.value)


def test_missing_bench_venv_is_an_error_before_any_run(tiny, monkeypatch, capsys):
    from mindspore_rl_ext.sweep.__main__ import main

    missing = str(tiny / "no-venv" / "bin" / "python")
    monkeypatch.setenv(ENV_VAR, missing)
    grid = write_grid(tiny, {"trainer_params": {"n_steps_per_episode": 200}},
                      algorithms=("iql", "d3rlpy_iql"))
    assert main([grid, "--out", str(tiny / "out")]) == 1
    err = capsys.readouterr().err
    assert "algorithm 'd3rlpy_iql', dataset 'tiny': the benchmark venv's python " \
           f"'{missing}' does not exist; create the venv with `{SETUP_CMD}`" in err, err
    assert not (tiny / "out").exists()


# ------------------------------------------------------------------ through the bench venv
def venv_python():
    python = bench_python()
    if python is None:
        pytest.fail(f"the benchmark venv is missing: create it with `{SETUP_CMD}` "
                    f"(or point ${ENV_VAR} at its python)")
    return python


def env():
    return dict(os.environ, PYTHONPATH=REPO_ROOT, MSRL_EXT_CPU_THREADS="1")


@pytest.mark.slow
def test_tiny_sweep_of_d3rlpy_iql_reaches_the_report(tmp_path):
    venv_python()
    save_d4rl_hdf5(synthetic_dataset(400), str(tmp_path / "tiny.hdf5"))
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({
        "algorithms": ["d3rlpy_iql"], "datasets": [{"dataset": "tiny.hdf5", "env_id": "Hopper-v5"}],
        "seeds": [0], "steps": 300, "device": "CPU", "max_retries": 0,
        "overrides": {"dataset_params": {"batch_size": 32},
                      "policy_params": {"hidden_sizes": [16, 16]},
                      "trainer_params": {"n_steps_per_episode": 100, "eval_per_episode": 1,
                                         "save_per_episode": 1, "num_evaluate_episode": 1}}}))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "mindspore_rl_ext.sweep", str(grid), "--out",
                             str(out), "--num-cpus", "1"], cwd=REPO_ROOT, env=env(),
                            capture_output=True, text=True, timeout=600)
    run_dir = out / "d3rlpy_iql" / "tiny" / "seed0"
    assert result.returncode == 0, (result.stderr[-3000:]
                                    + (run_dir / "output.txt").read_text()[-3000:])
    assert json.loads((run_dir / "run.json").read_text())["state"] == "done"
    log = (run_dir / "d3rlpy_iql_train_log.txt").read_text()
    scores = [float(line.rsplit(" ", 1)[1]) for line in log.splitlines()
              if line.startswith("Evaluate for episode")]
    rows = read_metrics(str(run_dir / "metrics.csv"))
    assert [r["episode"] for r in rows] == [1, 2, 3]
    assert [r["gradient_step"] for r in rows] == [100, 200, 300]
    assert all(r["critic_loss"] > 0 and r["actor_loss"] is not None for r in rows)
    np.testing.assert_allclose([r["normalized_score"] for r in rows], scores, atol=0.0051)
    assert sorted(os.listdir(run_dir / "ckpt")) == ["episode_2.pt", "episode_3.pt"]
    report = subprocess.run([sys.executable, "-m", "mindspore_rl_ext.sweep.report", str(out)],
                            cwd=REPO_ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    with open(out / "report" / "results.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["dataset"], row["algorithm"], row["metric"], row["n_seeds"]) == (
        "tiny", "d3rlpy_iql", "normalized_score", "1")
    assert abs(float(row["final_mean"]) - scores[-1]) <= 0.0051
    assert abs(float(row["best_mean"]) - max(scores)) <= 0.0051
    assert (out / "report" / "curves_tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_run_stopped_by_sigterm_then_rerun_equals_an_uninterrupted_run(tmp_path):
    python = venv_python()
    data = export_dataset(synthetic_dataset(400), str(tmp_path / "data.npz"))
    common = ["--data", data, "--episodes", "8", "--steps-per-episode", "50",
              "--eval-per-episode", "4", "--num-eval-episodes", "1", "--save-per-episode", "1",
              "--batch-size", "32", "--hidden-sizes", "16", "16", "--seed", "5", "--threads", "1"]

    def cmd(name):
        return [python, d3rlpy_iql.__file__, *common, "--log-file", str(tmp_path / name / "log.txt"),
                "--ckpt-dir", str(tmp_path / name / "ckpt")]

    whole = subprocess.run(cmd("whole"), capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-3000:]
    proc = subprocess.Popen(cmd("split"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    first_save = tmp_path / "split" / "ckpt" / "episode_1.pt"
    deadline = time.time() + 300
    while not first_save.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    stopped = int(err.strip().rsplit(" ", 1)[1])  # "... stopped by SIGTERM after episode N"
    assert 1 <= stopped < 8
    rerun = subprocess.run(cmd("split"), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (tmp_path / "split" / "log.txt").read_text()
    assert f"Resumed from checkpoint at episode {stopped}" in log
    a, b = (read_metrics(str(tmp_path / name / "metrics.csv")) for name in ("whole", "split"))
    a, b = ([{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows] for rows in (a, b))
    assert len(a) == 8 and a == b
