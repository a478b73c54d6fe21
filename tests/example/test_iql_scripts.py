"""run_standalone_train.sh / run_standalone_eval.sh end to end on a tiny dataset."""
import os
import re
import subprocess

import pytest
from helpers import synthetic_dataset

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
