"""Sweeps on Ray end to end on a tiny dataset: a run whose worker is killed is recorded
while the others finish and resumes from its checkpoint on the rerun; the report against
the runs' own logs; a rerun that skips; a real local cluster joined with --address with
a failing run; bad input refused before any run starts."""
import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from helpers import synthetic_dataset

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.data import save_d4rl_hdf5

# One xdist worker runs them all, one after another: each starts Ray.
pytestmark = pytest.mark.xdist_group("ray")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IQL_NETWORKS = ("policy", "value_net_1", "value_net_2", "value_model")
STEPS = 20  # gradient steps per episode
EPISODES = 6
EVAL = re.compile(r"^Evaluate for episode (\d+) total rewards is (\S+), normalized score is (\S+)$", re.M)


def env():
    return dict(os.environ, PYTHONPATH=ROOT, MSRL_EXT_CPU_THREADS="1")


def write_sweep(folder, name, algorithms=("iql", "bc"), datasets=("tiny.hdf5",), seeds=2,
                episodes=EPISODES, extra=""):
    data = "\n".join(f"  - {{dataset: {d}, env_id: Hopper-v5}}" for d in datasets)
    text = (f"algorithms: [{', '.join(algorithms)}]\ndatasets:\n{data}\nseeds: {seeds}\n"
            f"episodes: {episodes}\ndevice: CPU\nmax_retries: 0\n"
            "overrides:\n  dataset_params: {batch_size: 32}\n"
            "  policy_params: {hidden_sizes: [16, 16]}\n"
            f"  trainer_params: {{n_steps_per_episode: {STEPS}, save_per_episode: 1, "
            "eval_per_episode: 1, num_evaluate_episode: 1}\n" + extra)
    path = folder / name
    path.write_text(text)
    return str(path)


def sweep(*args, wait=True):
    cmd = [sys.executable, "-m", "mindspore_rl_ext.sweep", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600)


def read_run(out, key):
    import json
    with open(os.path.join(out, key, "run.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep_data")
    save_d4rl_hdf5(synthetic_dataset(400), str(folder / "tiny.hdf5"))
    save_d4rl_hdf5(synthetic_dataset(20, episode_len=10), str(folder / "small.hdf5"))
    return folder


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def swept(data):
    """iql and bc x tiny x seeds 0, 1 on a local Ray, 6 episodes of 20 steps; the worker
    of iql/tiny/seed0 is killed after its first checkpoint; then the same command again."""
    path = write_sweep(data, "grid.yaml")
    out = data / "out"
    ckpt_dir = str(out / "iql" / "tiny" / "seed0" / "ckpt")
    proc = sweep(path, "--out", out, "--num-cpus", 2, wait=False)
    deadline = time.time() + 600
    while not ckpt.complete_steps(ckpt_dir, IQL_NETWORKS):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    os.kill(read_run(out, "iql/tiny/seed0")["worker_pid"], signal.SIGKILL)
    _, first = proc.communicate(timeout=600)
    killed = read_run(out, "iql/tiny/seed0")
    while _alive(killed["train_pid"]):  # it got SIGTERM: saves a checkpoint, then stops
        time.sleep(0.2)
    saved = ckpt.complete_steps(ckpt_dir, IQL_NETWORKS)[-1]
    second = sweep(path, "--out", out, "--num-cpus", 2)
    return SimpleNamespace(path=path, out=str(out), first_rc=proc.returncode, first=first,
                           killed=killed, saved=saved, second=second)


def test_killed_worker_is_recorded_others_finish_and_rerun_resumes_it(swept):
    assert swept.first_rc == 1, swept.first[-3000:]
    assert "3 trained, 0 already done, 1 failed of 4 runs" in swept.first
    assert "FAILED iql/tiny/seed0: " in swept.first
    assert swept.killed["state"] == "failed" and "Worker" in swept.killed["error"], swept.killed
    assert 1 <= swept.saved < EPISODES
    assert swept.second.returncode == 0, swept.second.stderr[-3000:]
    assert "1 trained, 3 already done, 0 failed of 4 runs" in swept.second.stderr
    run_dir = os.path.join(swept.out, "iql", "tiny", "seed0")
    with open(os.path.join(run_dir, "iql_train_log.txt")) as f:
        log = f.read()
    assert f"Received SIGTERM: checkpoint saved at episode {swept.saved}" in log
    assert f"Resumed from checkpoint at episode {swept.saved}" in log
    record = read_run(swept.out, "iql/tiny/seed0")
    assert record["attempts"] == 2 and record["state"] == "done" and record["error"] is None


def log_scores(run_dir, algo):
    """(episode, normalised score) of each evaluation line of the run's train log."""
    with open(os.path.join(run_dir, f"{algo}_train_log.txt"), encoding="utf-8") as f:
        return [(int(m[0]), float(m[2])) for m in EVAL.findall(f.read())]


def log_step_times(run_dir, algo):
    """per_step_time (ms) of each episode line of the run's train log."""
    with open(os.path.join(run_dir, f"{algo}_train_log.txt"), encoding="utf-8") as f:
        return [float(t) for t in re.findall(r"per_step_time ([\d.]+) ms", f.read())]


def test_runs_write_logs_checkpoints_and_metrics(swept):
    out = swept.out
    for algo in ("iql", "bc"):
        for seed in (0, 1):
            run_dir = os.path.join(out, algo, "tiny", f"seed{seed}")
            assert read_run(out, f"{algo}/tiny/seed{seed}")["state"] == "done"
            assert ckpt.complete_steps(os.path.join(run_dir, "ckpt"), IQL_NETWORKS)[-1] == EPISODES
            with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            episodes = list(range(1, EPISODES + 1))
            assert [int(r["episode"]) for r in rows] == episodes
            assert [int(r["gradient_step"]) for r in rows] == [STEPS * e for e in episodes]
            scores = log_scores(run_dir, algo)
            assert [e for e, _ in scores] == episodes
            np.testing.assert_allclose([float(r["normalized_score"]) for r in rows],
                                       [s for _, s in scores], atol=0.0051)
            if algo == "iql":
                assert all(float(r["critic_loss"]) > 0 for r in rows)
            else:  # bc trains the actor alone
                assert all(float(r["critic_loss"]) == 0 != float(r["actor_loss"]) for r in rows)
            walls = [float(r["wall_time_s"]) for r in rows]
            assert walls == sorted(walls) and walls[0] > 0
    with open(os.path.join(out, "bc", "tiny", "seed0", "algo.yaml")) as f:
        bc_yaml = f.read()  # bc is IQL with example/iql/bc.yaml
    assert "temperature: 0.0" in bc_yaml and "behaviour_cloning: true" in bc_yaml
    with open(os.path.join(out, "iql", "tiny", "seed1", "algo.yaml")) as f:
        assert "seed: 1" in f.read()


def test_report_rows_match_the_runs_logs(swept):
    out = swept.out
    result = subprocess.run([sys.executable, "-m", "mindspore_rl_ext.sweep.report", out],
                            cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(out, "report", "results.csv"), newline="") as f:
        rows = {r["algorithm"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["bc", "iql"]
    for algo, row in rows.items():
        per_seed = [log_scores(os.path.join(out, algo, "tiny", f"seed{k}"), algo) for k in (0, 1)]
        final = np.array([s[-1][1] for s in per_seed])
        best = np.array([max(v for _, v in s) for s in per_seed])
        assert row["dataset"] == "tiny" and row["n_seeds"] == "2" and row["n_failed"] == "0"
        assert row["metric"] == "normalized_score"
        for key, value in (("final_mean", final.mean()), ("final_std", final.std(ddof=1)),
                           ("best_mean", best.mean()), ("best_std", best.std(ddof=1)),
                           ("final_iqm", final.mean())):  # IQM of 2 seeds drops none
            assert abs(float(row[key]) - value) <= 0.0051, (algo, key, row[key], value)
        assert float(row["final_iqm_ci_low"]) >= final.min() - 0.0051
        assert float(row["final_iqm_ci_high"]) <= final.max() + 0.0051
        assert f"| tiny | {algo} | {float(row['final_mean']):.2f} ± " in result.stdout
        step_ms = [np.median(log_step_times(os.path.join(out, algo, "tiny", f"seed{k}"), algo))
                   for k in (0, 1)]
        assert abs(float(row["ms_per_update"]) - np.median(step_ms)) <= 1e-6, (algo, step_ms)
    with open(os.path.join(out, "report", "curves_tiny.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_every_finished_run(swept):
    path, out = swept.path, swept.out
    log = os.path.join(out, "iql", "tiny", "seed0", "iql_train_log.txt")
    before = open(log).read()
    result = sweep(path, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 runs into" in result.stderr and "4 already done" in result.stderr
    assert "0 trained, 4 already done, 0 failed of 4 runs" in result.stderr
    assert open(log).read() == before


def test_changed_grid_in_same_out_says_what_differs(swept, data):
    out = swept.out
    changed = write_sweep(data, "changed.yaml", episodes=EPISODES + 1)
    result = sweep(changed, "--out", out)
    assert result.returncode == 1
    assert "holds runs made with other settings" in result.stderr
    assert f"iql/tiny/seed0: episodes: {EPISODES} -> {EPISODES + 1}" in result.stderr
    from mindspore_rl_ext.sweep.__main__ import check_out
    from mindspore_rl_ext.sweep.grid import load_sweep

    more, _ = load_sweep(write_sweep(data, "more.yaml", seeds=3), check_datasets=False)
    todo, notes = check_out(out, more)
    assert [r.key for r in todo] == ["iql/tiny/seed2", "bc/tiny/seed2"]
    assert notes == ["seeds added: 2"]
    _, fresh_notes = check_out(os.path.join(out, "fresh"), more)
    assert fresh_notes == []  # a first start has no earlier grid to compare with


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(port):
    """``ray start --head --block`` on 127.0.0.1:port, returned once its GCS answers.
    Terminating the returned process stops this cluster's processes only: ``ray stop``
    would stop every Ray on the machine, a user's running sweep too."""
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--port", str(port), "--node-ip-address",
         "127.0.0.1", "--num-cpus", "2", "--include-dashboard", "false",
         "--object-store-memory", str(100 * 1024 ** 2), "--disable-usage-stats"],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and head.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return head
        except OSError:
            time.sleep(0.5)
    head.kill()
    raise AssertionError(f"ray start --head did not answer on port {port}: "
                         f"{head.communicate()[1][-3000:]}")


def test_cluster_with_address_records_a_failing_run_and_finishes_the_others(data, tmp_path):
    """small.hdf5 (20 transitions) loads but cannot fill a batch of 32: its run fails."""
    port = _free_port()
    head = start_head(port)
    try:
        path = write_sweep(data, "cluster.yaml", algorithms=("iql",),
                           datasets=("tiny.hdf5", "small.hdf5"), seeds=[0], episodes=2)
        out = tmp_path / "out"
        result = sweep(path, "--out", out, "--address", f"127.0.0.1:{port}", "--tensorboard")
    finally:
        head.terminate()  # its SIGTERM handler stops the processes it started
        head.wait(timeout=120)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "1 trained, 0 already done, 1 failed of 2 runs" in result.stderr
    assert read_run(out, "iql/tiny/seed0")["state"] == "done"
    record = read_run(out, "iql/small/seed0")
    assert record["state"] == "failed"
    assert "batch_size 32 is larger than the dataset" in record["error"], record
    assert "FAILED iql/small/seed0: Error:" in result.stderr
    events = os.listdir(out / "iql" / "tiny" / "seed0" / "tensorboard")
    assert len(events) == 1 and events[0].startswith("events.out.tfevents")


@pytest.mark.parametrize("change, message", [
    ("algorithms: [iql, dql]", "algorithms[1]: unknown algorithm 'dql'; known: iql, bc, idql, aligniql, aligniql_hard, diffusion_ql"),
    ("overrides: {trainer_params: {n_step_per_episode: 5}}",
     "algorithm 'iql', dataset 'tiny': overrides.trainer_params: unknown key 'n_step_per_episode' "
     "(did you mean 'n_steps_per_episode'?)"),
    ("datasets: [missing.hdf5]", "datasets[0]: dataset file"),
    ("datasets: [nobody/nothing-v0]", "datasets[0] ('nobody/nothing-v0'): cannot be loaded"),
    ("seeds: [0, -1]", "seeds: expected a count >= 1 or a list of ints >= 0"),
    ("num_cpu: 2", "key 'num_cpu': unknown (did you mean 'num_cpus'?)"),
    ("algorithm_overrides: {diffusion_ql: {}}", "algorithm_overrides.diffusion_ql: is not one of"),
])
def test_bad_input_is_refused_before_any_run(data, tmp_path, capsys, change, message):
    from mindspore_rl_ext.sweep.__main__ import main

    grid = yaml.safe_load(open(write_sweep(data, "base.yaml")).read())
    grid.update(yaml.safe_load(change))
    bad = data / "bad.yaml"
    bad.write_text(yaml.safe_dump(grid))
    assert main([str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"sweep file '{bad}'" in err and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:{port}", "--address 127.0.0.1:{port}: no Ray cluster answers there"),
    ("localhost", "--address must be 'auto' or HOST:PORT, got 'localhost'"),
])
def test_unusable_address_is_a_quick_clear_error(data, tmp_path, capsys, address, message):
    from mindspore_rl_ext.sweep.__main__ import main

    port = _free_port()
    start = time.time()
    assert main([write_sweep(data, "addr.yaml"), "--out", str(tmp_path / "out"),
                 "--address", address.format(port=port)]) == 1
    assert time.time() - start < 30
    assert message.format(port=port) in capsys.readouterr().err
