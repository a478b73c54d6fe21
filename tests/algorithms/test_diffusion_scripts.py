"""example/diffusion_ql end to end on a tiny Hopper-shaped dataset: train (results folder,
log lines, model selection files, per-network checkpoints), eval from a network file,
offline-to-online fine-tuning resuming the offline run, the toy CLI, script usage errors.
Entry points run in-process (MindSpore is already initialised by conftest)."""
import json
import os
import re
import subprocess

import numpy as np
import pytest
from helpers import load_script, synthetic_dataset

from mindspore_rl_ext.data import save_d4rl_hdf5

EXAMPLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "example", "diffusion_ql"))


dql_train = load_script("example/diffusion_ql/train.py")
dql_eval = load_script("example/diffusion_ql/eval.py")
bandit_toy = load_script("example/diffusion_ql/bandit_toy.py")

NETWORKS = ["actor", "critic", "critic_target", "ema_actor"]
RUN = "tiny.hdf5__exp_1__diffusion-ql__T-2__ms-online__0"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("dql_run")
    save_d4rl_hdf5(synthetic_dataset(400), str(work / "tiny.hdf5"))
    (work / "algo.yaml").write_text(
        "policy_params:\n  hidden_dim: 16\n  critic_hidden_dim: 16\n"
        "dataset_params:\n  batch_size: 32\n"
        "trainer_params:\n  n_steps_per_episode: 3\n  num_evaluate_episode: 2\n"
        "online_params:\n  env_steps_per_episode: 20\n")
    old = os.getcwd()
    os.chdir(work)
    try:
        code = dql_train.main(["--env_name", "tiny.hdf5", "--env_id", "Hopper-v5", "--algo", "ql",
                               "--T", "2", "--num_epochs", "4", "--eval_freq", "2", "--lr_decay",
                               "--save_best_model", "--device", "CPU", "--algo_yaml", "algo.yaml"])
    finally:
        os.chdir(old)
    assert code == 0
    return work


def test_train_writes_the_results_folder(work):
    rdir = work / "results" / RUN.replace("ms-online", "lr_decay__ms-online")
    assert rdir.is_dir(), os.listdir(work / "results")
    log = (rdir / "train_log.txt").read_text()
    for episode in (1, 2, 3, 4):
        assert re.search(rf"^Episode {episode}: critic_loss is \S+, actor_loss is \S+, bc_loss is \S+, "
                         rf"ql_loss is \S+, target_q is \S+, ood_penalty is \S+, q_data is \S+, "
                         rf"q_policy is \S+, policy_data_dist is \S+, per_step_time [\d.]+ ms,$",
                         log, re.M), log
    for episode in (2, 4):
        assert re.search(rf"^Evaluate for episode {episode} total rewards is -?[\d.]+, "
                         rf"normalized score is -?[\d.]+$", log, re.M), log
    config = json.loads((rdir / "config.json").read_text())
    assert config["algo"] == "ql" and config["learner_params"]["lr_decay"] is True
    best = json.loads((rdir / "best_score_online.txt").read_text())
    assert best["epoch"] in (2, 4) and set(best) >= {"best normalized score avg", "best raw score avg"}
    rows = np.load(rdir / "eval.npy")
    assert rows.shape == (2, 9) and list(rows[:, 8]) == [2.0, 4.0]
    for net in NETWORKS:  # --save_best_model keeps every evaluation's checkpoint
        assert sorted(os.listdir(rdir / "ckpt" / net)) == [f"{net}_2.ckpt", f"{net}_4.ckpt"]


def test_eval_from_a_network_file_reads_the_run_config(work):
    rdir = work / "results" / RUN.replace("ms-online", "lr_decay__ms-online")
    old = os.getcwd()
    os.chdir(work)
    try:
        code = dql_eval.main(["--ckpt_path", str(rdir / "ckpt" / "actor" / "actor_2.ckpt"),
                              "--device", "CPU", "--num_evaluate_episode", "2"])
    finally:
        os.chdir(old)
    assert code == 0
    log = (work / "diffusion_ql_eval_log.txt").read_text().splitlines()
    for net in NETWORKS:
        assert any(line.startswith("Load file") and line.endswith(f"{net}/{net}_2.ckpt") for line in log)
    assert any(re.match(r"^Evaluate result is -?[\d.]+, checkpoint file in .*actor_2\.ckpt, "
                        r"normalized score is -?[\d.]+$", line) for line in log), log
    assert log[-1] == "eval end"


def test_online_fine_tuning_resumes_the_offline_run(work):
    old = os.getcwd()
    os.chdir(work)
    try:
        code = dql_train.main(["--env_name", "tiny.hdf5", "--env_id", "Hopper-v5", "--algo", "ql",
                               "--T", "2", "--num_epochs", "4", "--eval_freq", "2", "--lr_decay",
                               "--save_best_model", "--device", "CPU", "--algo_yaml", "algo.yaml",
                               "--training_mode", "online", "--online_episodes", "2"])
    finally:
        os.chdir(old)
    assert code == 0
    rdir = work / "results" / RUN.replace("ms-online", "lr_decay__ms-online")
    log = (rdir / "train_log.txt").read_text()
    assert "Resumed from checkpoint at episode 4" in log
    for episode, size in ((5, 420), (6, 440)):  # 400 offline rows + 20 per online episode
        assert re.search(rf"^Episode {episode}: .*buffer_size is {size}, ", log, re.M), log
    online = np.load(rdir / "ckpt" / "online_buffer" / "online_buffer_6.npz")
    assert online["obs"].shape == (40, 11) and online["act"].shape == (40, 3)
    assert np.load(rdir / "eval.npy").shape == (3, 9)


def test_toy_cli_train_then_eval(tmp_path):
    args = ["--algo", "bc", "--env_name", "rings", "--T", "2", "--num_epochs", "1",
            "--n_steps_per_episode", "20", "--hidden_dim", "16", "--dataset_size", "2000",
            "--dir", str(tmp_path), "--device", "CPU"]
    assert bandit_toy.main(args + ["--mode", "train"]) == 0
    rdir = tmp_path / "rings__exp_1__diffusion-bc__T-2__ms-online__0"
    names = ["summary_1.json", "toy_log.txt", "scatter-data_rings.png", "scatter-action_bc_1.png"]
    for name in names:
        assert (rdir / name).is_file(), name
    assert bandit_toy.main(args + ["--mode", "eval"]) == 0
    assert "Evaluate result: mean reward of 2000 sampled actions is" in (rdir / "toy_log.txt").read_text()
    # eval of a run never trained: a clear error, exit 1
    other = [str(tmp_path / "none") if a == str(tmp_path) else a for a in args]
    assert bandit_toy.main(other + ["--mode", "eval"]) == 1
    assert "no toy checkpoint" in (tmp_path / "none" / rdir.name / "toy_log.txt").read_text()


@pytest.mark.parametrize("script,args", [
    ("run_standalone_train.sh", []), ("run_standalone_train.sh", ["hopper-medium-v2", "dql"]),
    ("run_standalone_train.sh", ["hopper-medium-v2", "ql", "TPU"]),
    ("run_standalone_eval.sh", []), ("run_standalone_eval.sh", ["/no/such/ckpt"])])
def test_scripts_reject_bad_arguments_with_usage(script, args, tmp_path):
    result = subprocess.run(["bash", os.path.join(EXAMPLE, "scripts", script), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Usage:" in result.stderr
