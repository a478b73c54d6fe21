"""run_standalone_train.sh / run_standalone_eval.sh with ALGO aligniql_hard on a tiny
dataset: IQL's log format, one checkpoint folder per network, resume, evaluation."""
import os
import re
import subprocess

from helpers import synthetic_dataset

from mindspore_rl_ext.data import save_d4rl_hdf5

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPTS = os.path.join(ROOT, "example", "iql", "scripts")
NETWORKS = ("actor", "ema_actor", "critic", "critic_target", "value", "multipliers")


def run(script, *args, cwd):
    env = dict(os.environ, MSRL_EXT_CPU_THREADS="2",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(["bash", os.path.join(SCRIPTS, script), *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)


def test_aligniql_hard_trains_resumes_and_evaluates_through_the_scripts(tmp_path):
    save_d4rl_hdf5(synthetic_dataset(400), str(tmp_path / "tiny.hdf5"))
    (tmp_path / "env.yaml").write_text("dataset_params:\n  dataset: tiny.hdf5\n  env_id: Hopper-v5\n")
    (tmp_path / "algo.yaml").write_text(
        "dataset_params:\n  batch_size: 16\npolicy_params:\n  hidden_dim: 16\n  time_dim: 8\n"
        "critic_params:\n  hidden_sizes: [16, 16]\n"
        "actor_params:\n  num_candidates: 4\n  eval_candidate_sweep: [2, 4]\n"
        "trainer_params:\n  n_steps_per_episode: 3\n  save_per_episode: 2\n"
        "  eval_per_episode: 2\n  num_evaluate_episode: 2\n  max_ckpt_num: 1\n")
    result = run("run_standalone_train.sh", 2, "CPU", "env.yaml", "algo.yaml", "aligniql_hard",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "aligniql_hard_train_log.txt").read_text()
    assert re.search(r"^Episode 2: actor_loss is \S+, critic_loss is \S+, value_loss is \S+, "
                     r"alpha_loss is \S+, beta_loss is \S+, per_step_time [\d.]+ ms,$", log, re.M), log
    assert re.search(r"^Evaluate with N=2 candidates: total rewards is -?[\d.]+, "
                     r"normalized score is -?[\d.]+$", log, re.M), log
    assert re.search(r"^Evaluate for episode 2 total rewards is -?[\d.]+, "
                     r"normalized score is -?[\d.]+$", log, re.M), log
    for net in NETWORKS:
        assert sorted(os.listdir(tmp_path / "ckpt" / net)) == [f"{net}_2.ckpt"]
    result = run("run_standalone_train.sh", 3, "CPU", "env.yaml", "algo.yaml", "aligniql_hard",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "aligniql_hard_train_log.txt").read_text()
    assert "Resumed from checkpoint at episode 2" in log and re.search(r"^Episode 3: ", log, re.M)
    result = run("run_standalone_eval.sh", "./ckpt", "CPU", "env.yaml", "aligniql_hard",
                 "algo.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "aligniql_hard_eval_log.txt").read_text().splitlines()
    for net in NETWORKS:
        assert f"Load file ./ckpt/{net}/{net}_3.ckpt" in log
    assert any(re.match(r"^Evaluate result is -?[\d.]+, checkpoint file in \./ckpt", line)
               for line in log), log


def test_train_script_refuses_an_unknown_algo(tmp_path):
    result = run("run_standalone_train.sh", 2, "CPU", "", "", "dql", cwd=tmp_path)
    assert result.returncode == 2
    assert "ALGO must be iql, idql, aligniql or aligniql_hard, got 'dql'" in result.stderr
