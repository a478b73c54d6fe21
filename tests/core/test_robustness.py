"""Training survives SIGKILL, SIGTERM, corrupt checkpoints and NaNs, and loses nothing."""
import os
import signal
import subprocess
import sys
import time

import mindspore as ms
import numpy as np
import pytest
from helpers import synthetic_dataset

from mindspore_rl_ext.algorithms.iql import IQLTrainer, load_config
from mindspore_rl_ext.algorithms.iql.config import algorithm_config
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.callbacks import (CallbackManager, CheckpointCallback, LossCallback,
                                             TimeCallback)
from mindspore_rl_ext.core.device import resolve_device_target
from mindspore_rl_ext.core.errors import ConfigError, TrainingDivergedError
from mindspore_rl_ext.core.weights import write_params
from mindspore_rl_ext.core.run_log import RunLog
from mindspore_rl_ext.core.session import build_components
from mindspore_rl_ext.data import save_d4rl_hdf5

TRAIN_PY = os.path.join(os.path.dirname(__file__), "..", "..", "example", "iql", "train.py")
NETWORKS = ("policy", "value_net_1", "value_net_2", "value_model")


class ListLog(RunLog):
    def __init__(self):
        super().__init__(None, echo=False)
        self.lines = []

    def info(self, line):
        self.lines.append(line)


def make_trainer(tmp_path, hidden=(32, 32), log=None, seed=0):
    cfg = load_config()
    cfg["dataset_params"].update(dataset=synthetic_dataset(300), batch_size=16)
    cfg["policy_params"]["hidden_sizes"] = list(hidden)
    cfg["trainer_params"].update(ckpt_path=str(tmp_path / "ckpt"), n_steps_per_episode=3,
                                 eval_per_episode=0, max_ckpt_num=5)
    ms.set_seed(seed)
    msrl = build_components(algorithm_config(cfg, 10))
    fingerprint = {"hidden_sizes": list(hidden), "state_dim": 11}
    return IQLTrainer(msrl, cfg["trainer_params"], log or ListLog(), fingerprint)


def callbacks(trainer, save_every=2):
    return CallbackManager([TimeCallback(3), LossCallback(trainer.log),
                            CheckpointCallback(trainer.log, save_every)])


# --- corrupt checkpoints -----------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate", "flip_bit"])
def test_corrupt_checkpoint_is_reported_and_resume_falls_back(tmp_path, damage):
    first = make_trainer(tmp_path)
    first.train(4, callbacks(first))
    bad = tmp_path / "ckpt" / "value_model" / "value_model_4.ckpt"
    data = bytearray(bad.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x10
    bad.write_bytes(bytes(data))
    log = ListLog()
    resumed = make_trainer(tmp_path, log=log, seed=3)
    assert resumed.restore() == 2
    assert any("episode 4 skipped" in line and str(bad) in line for line in log.lines), log.lines
    path = str(tmp_path / "ckpt" / "policy" / "policy_2.ckpt")
    ckpt.assign_params(make_trainer(tmp_path / "x").trainable_variables()["policy"],
                       ckpt.load_params(path), path)  # the earlier checkpoint is intact


def test_resume_with_different_network_sizes_is_refused(tmp_path):
    first = make_trainer(tmp_path)
    first.train(2, callbacks(first))
    other = make_trainer(tmp_path, hidden=(64, 64))
    with pytest.raises(ConfigError, match=r"cannot resume.*hidden_sizes: checkpoint \[32, 32\] vs now \[64, 64\]"):
        other.restore()


# --- NaN / Inf -----------------------------------------------------------------------

def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.train(2, callbacks(trainer))
    q1 = trainer.msrl.policy_and_network.critic_net1
    output_bias = list(q1.get_parameters())[-1]
    write_params([output_bias], [np.full(output_bias.shape, np.nan, np.float32)])
    with pytest.raises(TrainingDivergedError, match="critic_loss is nan at episode 3"):
        trainer.train(4, callbacks(trainer, save_every=1), resume=False)
    assert ckpt.complete_steps(str(tmp_path / "ckpt"), NETWORKS) == [2]
    for net in NETWORKS:
        values = ckpt.load_params(ckpt.network_file(str(tmp_path / "ckpt"), net, 2))
        assert all(np.isfinite(v).all() for v in values.values())


def test_nan_weight_hidden_by_relu_still_stops_training(tmp_path):
    """A NaN first-layer weight can leave the loss finite (ReLU maps NaN to 0 on CPU)."""
    trainer = make_trainer(tmp_path)
    weight = next(iter(trainer.msrl.policy_and_network.critic_net1.get_parameters()))
    write_params([weight], [np.full(weight.shape, np.nan, np.float32)])
    with pytest.raises(TrainingDivergedError, match="network 'value_net_1' .* NaN or Inf after episode 1"):
        trainer.train(2, callbacks(trainer, save_every=1))
    assert ckpt.complete_steps(str(tmp_path / "ckpt"), NETWORKS) == []


def test_nan_weights_are_never_saved(tmp_path):
    trainer = make_trainer(tmp_path)
    v = trainer.msrl.policy_and_network.value_net
    weight = next(iter(v.get_parameters()))
    write_params([weight], [np.full(weight.shape, np.inf, np.float32)])
    with pytest.raises(TrainingDivergedError, match="network 'value_model' parameter .* NaN or Inf"):
        trainer.save_checkpoint(1)
    assert not os.path.exists(tmp_path / "ckpt")


# --- bad arguments -------------------------------------------------------------------

def test_unusable_device_is_a_config_error():
    with pytest.raises(ConfigError, match="device_target 'TPU' is not one of"):
        resolve_device_target("TPU")
    if not ms.hal.is_available("GPU"):
        with pytest.raises(ConfigError, match="device_target 'GPU' was asked for"):
            resolve_device_target("GPU")


def test_batch_larger_than_dataset_is_refused():
    cfg = load_config()
    cfg["dataset_params"].update(dataset=synthetic_dataset(100), batch_size=256)
    with pytest.raises(ConfigError, match="batch_size 256 is larger than the dataset 'synthetic' \\(100"):
        build_components(algorithm_config(cfg, 1))


# --- signals (real processes) --------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("signals")
    save_d4rl_hdf5(synthetic_dataset(400), str(work / "tiny.hdf5"))
    (work / "env.yaml").write_text("dataset_params:\n  dataset: tiny.hdf5\n  env_id: Hopper-v5\n  batch_size: 32\n")
    (work / "algo.yaml").write_text(
        "policy_params:\n  hidden_sizes: [64, 64]\n"
        "trainer_params:\n  n_steps_per_episode: 50\n  save_per_episode: 1\n  eval_per_episode: 0\n"
        "  max_ckpt_num: 20\n")
    return work


def train_cmd(work, ckpt_path, episodes):
    return [sys.executable, os.path.abspath(TRAIN_PY), "--episode", str(episodes),
            "--device_target", "CPU", "--env_yaml", "env.yaml", "--algo_yaml", "algo.yaml",
            "--ckpt_path", ckpt_path, "--log_file", f"{ckpt_path}.log"]


def wait_for_checkpoint(root, step, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if step in ckpt.complete_steps(root, NETWORKS) or proc.poll() is not None:
            return
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint {step} in {root}")


def final_params(root, step):
    out = {}
    for net in NETWORKS:
        out[net] = ckpt.load_params(ckpt.network_file(root, net, step))
    out["state"] = ckpt.load_params(ckpt.state_files(root, step)[0])
    return out


def test_sigkill_mid_run_then_resume_matches_uninterrupted_run(tiny_run):
    work, episodes = tiny_run, 8
    env = dict(os.environ, MSRL_EXT_CPU_THREADS="2")
    straight = subprocess.run(train_cmd(work, "straight", episodes), cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-2000:]
    proc = subprocess.Popen(train_cmd(work, "killed", episodes), cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint(str(work / "killed"), 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = ckpt.complete_steps(str(work / "killed"), NETWORKS)
    assert done and done[-1] < episodes, f"the run finished before it was killed: {done}"
    resumed = subprocess.run(train_cmd(work, "killed", episodes), cwd=work, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resumed from checkpoint at episode {done[-1]}" in (work / "killed.log").read_text()
    a, b = final_params(str(work / "straight"), episodes), final_params(str(work / "killed"), episodes)
    for group in a:
        for name in a[group]:
            np.testing.assert_array_equal(a[group][name], b[group][name], err_msg=f"{group}/{name}")


def test_sigterm_saves_a_checkpoint_and_exits_nonzero(tiny_run):
    work = tiny_run
    proc = subprocess.Popen(train_cmd(work, "termed", 200), cwd=work,
                            env=dict(os.environ, MSRL_EXT_CPU_THREADS="2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(str(work / "termed"), 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    log = (work / "termed.log").read_text()
    assert "Received SIGTERM: checkpoint saved at episode" in log
    step = int(log.split("Received SIGTERM: checkpoint saved at episode ")[1].split()[0])
    assert step in ckpt.complete_steps(str(work / "termed"), NETWORKS)


def test_no_resume_starts_over(tiny_run):
    work = tiny_run
    env = dict(os.environ, MSRL_EXT_CPU_THREADS="2")
    for extra in ([], ["--no-resume"]):
        result = subprocess.run(train_cmd(work, "fresh", 1) + extra, cwd=work, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    assert "Resumed" not in (work / "fresh.log").read_text()
