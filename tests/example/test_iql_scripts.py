"""run_standalone_train.sh / run_standalone_eval.sh end to end on a tiny dataset; train.py
stopped by SIGTERM / SIGINT and resumed, and its refusal to resume under another config."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import synthetic_dataset

from mindspore_rl_ext.core.checkpoint import load_params
from mindspore_rl_ext.data import save_d4rl_hdf5

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "example", "iql", "scripts")
TRAIN = os.path.abspath(os.path.join(SCRIPTS, "run_standalone_train.sh"))
EVAL = os.path.abspath(os.path.join(SCRIPTS, "run_standalone_eval.sh"))
NETWORKS = ("policy", "value_net_1", "value_net_2", "value_model")


def run(script, *args, cwd):
    env = dict(os.environ, MSRL_EXT_CPU_THREADS="2")
    return subprocess.run(["bash", script, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train 4 episodes x 3 steps on 400 Hopper-shaped transitions; eval 2 episodes."""
    work = tmp_path_factory.mktemp("iql_run")
    save_d4rl_hdf5(synthetic_dataset(400), str(work / "tiny.hdf5"))
    (work / "env.yaml").write_text(
        "dataset_params:\n  dataset: tiny.hdf5\n  env_id: Hopper-v5\n")
    (work / "algo.yaml").write_text(
        "dataset_params:\n  batch_size: 32\n"
        "trainer_params:\n  n_steps_per_episode: 3\n  save_per_episode: 2\n"
        "  eval_per_episode: 2\n  num_evaluate_episode: 2\n  max_ckpt_num: 1\n")
    result = run(TRAIN, 4, "CPU", "env.yaml", "algo.yaml", cwd=work)
    return work, result


def test_train_script_writes_log_lines_and_checkpoints(trained):
    work, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    log = (work / "iql_train_log.txt").read_text()
    for episode in (1, 2, 3, 4):
        assert re.search(rf"^Episode {episode}: critic_loss is \S+, actor_loss is \S+, value_loss is \S+, "
                         rf"mean_std is \S+, per_step_time [\d.]+ ms,$", log, re.M), log
    for episode in (2, 4):
        assert re.search(rf"^Evaluate for episode {episode} total rewards is -?[\d.]+, "
                         rf"normalized score is -?[\d.]+$", log, re.M), log
    for net in NETWORKS:  # max_ckpt_num 1: only the newest step is kept
        assert sorted(os.listdir(work / "ckpt" / net)) == [f"{net}_4.ckpt"]
    assert sorted(os.listdir(work / "ckpt" / "train_state")) == ["train_state_4.ckpt", "train_state_4.json"]


def test_rerun_resumes_and_extends(trained):
    work, _ = trained
    result = run(TRAIN, 6, "CPU", "env.yaml", "algo.yaml", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (work / "iql_train_log.txt").read_text()
    assert "Resumed from checkpoint at episode 4" in log
    assert re.search(r"^Episode 6: critic_loss", log, re.M)
    assert not re.search(r"^Episode 7:", log, re.M)


def test_eval_script_on_folder_and_on_file(trained):
    work, _ = trained
    result = run(EVAL, "./ckpt", "CPU", "env.yaml", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (work / "iql_eval_log.txt").read_text().splitlines()
    newest = max(int(f.split("_")[-1][:-5]) for f in os.listdir(work / "ckpt" / "policy"))
    for net in NETWORKS:
        assert f"Load file ./ckpt/{net}/{net}_{newest}.ckpt" in log
    assert any(re.match(r"^Evaluate result is -?[\d.]+, checkpoint file in \./ckpt, "
                        r"normalized score is -?[\d.]+$", line) for line in log), log
    assert log[-1] == "eval end"
    result = run(EVAL, f"./ckpt/policy/policy_{newest}.ckpt", "CPU", "env.yaml", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("args", [(), ("0",), ("abc",), ("5", "TPU"), ("1", "CPU", "a", "b", "c")])
def test_train_script_bad_arguments_print_usage_and_exit_2(tmp_path, args):
    result = run(TRAIN, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Usage: bash scripts/run_standalone_train.sh EPISODE" in result.stderr


def test_eval_script_missing_checkpoint_exits_2(tmp_path):
    result = run(EVAL, "./nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "CKPT_PATH './nope' does not exist" in result.stderr


def test_train_with_unknown_yaml_key_fails_with_named_key(tmp_path):
    (tmp_path / "bad.yaml").write_text("learner_params:\n  temprature: 3.0\n")
    result = run(TRAIN, 1, "CPU", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown key 'temprature'" in result.stderr
    assert "did you mean 'temperature'" in (tmp_path / "iql_train_log.txt").read_text()


# --- train.py itself: signals and resume refusal (real processes) --------------------

TRAIN_PY = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "example", "iql",
                                        "train.py"))
SIGNAL_EPISODES = 30  # long enough to be signalled mid-run (~0.1 s an episode here)


def train_py(work, ckpt_path, episodes, env_yaml="env.yaml", algo_yaml="algo.yaml"):
    """train.py into ``work/ckpt_path``, its log in ``work/ckpt_path.log``."""
    return [sys.executable, TRAIN_PY, "--episode", str(episodes), "--device_target", "CPU",
            "--env_yaml", env_yaml, "--algo_yaml", algo_yaml, "--ckpt_path", ckpt_path,
            "--log_file", f"{ckpt_path}.log"]


def run_train_py(work, *args, **kwargs):
    return subprocess.run(train_py(work, *args, **kwargs), cwd=work, env=dict(os.environ),
                          capture_output=True, text=True, timeout=600)


def checkpoint_files(root):
    """Every file under a checkpoint folder but its writer lock, relative paths."""
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files if f != ".lock")


def one_checkpoint(step):
    return sorted([os.path.join(net, f"{net}_{step}.ckpt") for net in NETWORKS]
                  + [os.path.join("train_state", f"train_state_{step}.{ext}")
                     for ext in ("ckpt", "json")])


def final_params(root, step):
    """{network or 'train_state': {parameter: array}} of checkpoint ``step``."""
    out = {net: load_params(os.path.join(root, net, f"{net}_{step}.ckpt")) for net in NETWORKS}
    out["train_state"] = load_params(os.path.join(root, "train_state", f"train_state_{step}.ckpt"))
    return out


@pytest.fixture(scope="module")
def signal_work(tmp_path_factory):
    """Tiny runs that never save periodically (save_per_episode > the planned episodes),
    and the uninterrupted reference run of SIGNAL_EPISODES episodes."""
    work = tmp_path_factory.mktemp("iql_signals")
    save_d4rl_hdf5(synthetic_dataset(400), str(work / "tiny.hdf5"))
    save_d4rl_hdf5(synthetic_dataset(400, seed=1), str(work / "other.hdf5"))
    (work / "env.yaml").write_text(
        "dataset_params:\n  dataset: tiny.hdf5\n  env_id: Hopper-v5\n  batch_size: 32\n")
    (work / "algo.yaml").write_text(
        "policy_params:\n  hidden_sizes: [16, 16]\n"
        "trainer_params:\n  n_steps_per_episode: 10\n"
        f"  save_per_episode: {SIGNAL_EPISODES + 1}\n  eval_per_episode: 0\n")
    straight = run_train_py(work, "straight", SIGNAL_EPISODES)
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert checkpoint_files(work / "straight") == one_checkpoint(SIGNAL_EPISODES)  # only the end
    return work


def wait_for_line(path, text, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and re.search(text, open(path, encoding="utf-8").read(), re.M):
            return
        if proc.poll() is not None:
            raise AssertionError(f"train.py exited ({proc.returncode}) before {text!r} in {path}")
        time.sleep(0.02)
    raise AssertionError(f"no {text!r} in {path} after {timeout} s")


# MindSpore's runtime installs its own SIGINT handler while compiled graphs run; it sends
# SIGTERM to the process instead (docs/mindspore_notes.md), so Ctrl-C is reported as
# SIGTERM and exits 143. Both save a checkpoint first.
REPORTED = {"SIGTERM": (143, "SIGTERM"), "SIGINT": (143, "SIGTERM")}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_saves_one_checkpoint_and_resume_matches_uninterrupted_run(signal_work, sig):
    """A signal mid-run stops train.py with exactly one complete checkpoint, the one the
    signal path wrote (no periodic save is due); rerunning the command finishes the
    planned episodes with the weights, targets and optimiser states of the uninterrupted
    run, bit for bit. Last: the exit code and the signal the log names (REPORTED)."""
    work, name = signal_work, f"signal_{sig.name}"
    with open(work / f"{name}.stderr", "w") as err:
        proc = subprocess.Popen(train_py(work, name, SIGNAL_EPISODES), cwd=work, env=dict(os.environ),
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for_line(work / f"{name}.log", r"^Episode 1: ", proc)
            proc.send_signal(sig)
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    stderr = (work / f"{name}.stderr").read_text()
    log = (work / f"{name}.log").read_text()
    saved = re.search(r"^Received (SIG\w+): checkpoint saved at episode (\d+)$", log, re.M)
    assert saved and proc.returncode in (130, 143), (proc.returncode, log, stderr[-3000:])
    reported, step = saved.group(1), int(saved.group(2))
    assert 1 <= step < SIGNAL_EPISODES, f"the run was not stopped mid-run: {log}"
    assert f"Training interrupted: stopped by {reported} after episode {step}" in stderr
    assert checkpoint_files(work / name) == one_checkpoint(step)
    resumed = run_train_py(work, name, SIGNAL_EPISODES)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resumed from checkpoint at episode {step} " in (work / f"{name}.log").read_text()
    reference = final_params(str(work / "straight"), SIGNAL_EPISODES)
    mine = final_params(str(work / name), SIGNAL_EPISODES)
    for group, values in reference.items():
        assert sorted(mine[group]) == sorted(values), group
        for pname, value in values.items():
            np.testing.assert_array_equal(mine[group][pname], value, err_msg=f"{group}/{pname}")
    assert (proc.returncode, reported) == REPORTED[sig.name], (sig.name, proc.returncode, reported)


@pytest.fixture(scope="module")
def one_episode_run(signal_work):
    """train.py for 1 episode into ckpt folder 'refuse' (tiny.hdf5, hidden_sizes [16, 16])."""
    first = run_train_py(signal_work, "refuse", 1)
    assert first.returncode == 0, first.stderr[-3000:]
    assert checkpoint_files(signal_work / "refuse") == one_checkpoint(1)
    return signal_work


@pytest.mark.parametrize("change, message", [
    ("dataset", "dataset: checkpoint 'tiny.hdf5' vs now 'other.hdf5'"),
    ("hidden_sizes", "hidden_sizes: checkpoint [16, 16] vs now [32, 32]"),
], ids=["dataset", "hidden_sizes"])
def test_resume_with_a_different_config_is_refused(one_episode_run, change, message):
    """A rerun into a checkpoint folder written with another dataset or network size
    exits 1 saying 'cannot resume' with the differing key and both values, on stderr and
    in the log, and leaves the checkpoint as it was."""
    work, name = one_episode_run, f"refuse_{change}"
    shutil.copytree(work / "refuse", work / name)  # each case on its own copy
    if change == "dataset":
        (work / "env_other.yaml").write_text(
            (work / "env.yaml").read_text().replace("tiny.hdf5", "other.hdf5"))
        rerun = run_train_py(work, name, 2, env_yaml="env_other.yaml")
    else:
        (work / "algo_wide.yaml").write_text(
            (work / "algo.yaml").read_text().replace("[16, 16]", "[32, 32]"))
        rerun = run_train_py(work, name, 2, algo_yaml="algo_wide.yaml")
    assert rerun.returncode == 1, rerun.stderr[-3000:]
    log_lines = (work / f"{name}.log").read_text().splitlines()
    for text in (rerun.stderr, log_lines[-1]):
        assert "cannot resume" in text and message in text, text[-3000:]
    assert checkpoint_files(work / name) == one_checkpoint(1)
