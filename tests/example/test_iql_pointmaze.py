"""example/iql/train.py end to end on a tiny generated PointMaze dataset: IQL's sparse-reward
preset trains a few hundred steps and evaluates on the dataset's flat evaluation env."""
import os
import re
import subprocess
import sys

import pytest

from mindspore_rl_ext.data.generate import generate_dataset

pytest.importorskip("gymnasium_robotics")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRAIN = os.path.join(REPO, "example", "iql", "train.py")


def test_train_py_trains_and_evaluates_on_pointmaze(tmp_path):
    root = tmp_path / "minari"
    root.mkdir()
    generate_dataset("pointmaze", "umaze", steps=600, seed=0, dataset_root=root,
                     progress=False, ref_episodes=2)
    (tmp_path / "env.yaml").write_text(
        f"domain: pointmaze\ndataset_params:\n  dataset: msrl_ext/pointmaze/umaze-v0\n"
        f"  dataset_root: {root}\n")
    (tmp_path / "algo.yaml").write_text(
        "dataset_params:\n  batch_size: 32\n"
        "trainer_params:\n  n_steps_per_episode: 100\n  save_per_episode: 3\n"
        "  eval_per_episode: 3\n  num_evaluate_episode: 2\n  max_ckpt_num: 1\n")
    env = dict(os.environ, PYTHONPATH=REPO, MSRL_EXT_CPU_THREADS="1")
    result = subprocess.run([sys.executable, TRAIN, "--episode", "3", "--device_target", "CPU",
                             "--env_yaml", "env.yaml", "--algo_yaml", "algo.yaml"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "iql_train_log.txt").read_text()
    assert "dataset 'msrl_ext/pointmaze/umaze-v0', domain pointmaze" in log, log
    assert re.search(r"^Episode 3: critic_loss is \S+", log, re.M), log
    found = re.search(r"^Evaluate for episode 3 total rewards is (-?[\d.]+), "
                      r"normalized score is (-?[\d.]+)$", log, re.M)
    assert found, log
    assert 0.0 <= float(found[1]) <= 300.0  # steps at the goal out of 300
    assert sorted(os.listdir(tmp_path / "ckpt" / "policy")) == ["policy_3.ckpt"]
