"""A checkpoint write that fails (full disk) is one clear error, leaves nothing partial
behind and keeps the previous complete checkpoint, which a resume then loads."""
import errno
import os
import re
import signal
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from helpers import synthetic_dataset
from test_robustness import NETWORKS, TRAIN_PY, callbacks, make_trainer

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.callbacks import Callback, CallbackManager
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.data import save_d4rl_hdf5

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def all_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def step_bytes(root, step):
    """Every file of checkpoint ``step``, as bytes."""
    return {f: open(os.path.join(root, f), "rb").read()
            for f in all_files(root) if re.search(rf"_{step}\.(ckpt|json)$", f)}


def weights(trainer):
    return {(net, name): p.asnumpy().copy()
            for net, cell in trainer.trainable_variables().items()
            for name, p in ckpt.named_params(cell)}


def fail_second_network_write(monkeypatch):
    """ms.save_checkpoint writes part of its temporary file, then the disk is full."""
    real, calls = ms.save_checkpoint, []

    def save_checkpoint(items, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            with open(os.path.splitext(path)[0] + ".tmp", "wb") as f:  # MindSpore's own tmp
                f.write(b"\0" * 64)
            raise ENOSPC
        return real(items, path, **kwargs)

    monkeypatch.setattr(ms, "save_checkpoint", save_checkpoint)


def fail_state_rename(monkeypatch):
    """Every temporary file is written; renaming the JSON state into place fails."""
    real = os.replace

    def replace(src, dst):
        if dst.endswith(".json"):
            raise ENOSPC
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("fail", [fail_second_network_write, fail_state_rename])
def test_failed_write_keeps_previous_checkpoint_and_resume_loads_it(tmp_path, monkeypatch, fail):
    root = str(tmp_path / "ckpt")
    trainer = make_trainer(tmp_path)
    trainer.train(2, callbacks(trainer))
    saved, before = weights(trainer), step_bytes(root, 2)
    fail(monkeypatch)
    with pytest.raises(CheckpointError) as info:
        trainer.train(4, callbacks(trainer))
    message = str(info.value)
    assert f"checkpoint of episode 4 in checkpoint folder '{root}'" in message
    assert re.search(r"No space left on device\); it needs about \d[\d,]* bytes, "
                     r"\d[\d,]* bytes are free there", message), message
    assert "the newest complete checkpoint (episode 2) is intact" in message
    monkeypatch.undo()
    files = all_files(root)
    assert not [f for f in files if "tmp" in f], files
    assert not [f for f in files if re.search(r"_4\.", f)], files
    assert ckpt.complete_steps(root, NETWORKS) == [2]
    assert step_bytes(root, 2) == before
    fresh = make_trainer(tmp_path, seed=3)
    assert fresh.restore() == 2 and fresh.episode == 2
    for key, value in weights(fresh).items():
        np.testing.assert_array_equal(value, saved[key], err_msg=str(key))


def test_failed_rewrite_of_a_complete_step_keeps_it(tmp_path, monkeypatch):
    """Saving the step resumed from again (a finished run rerun) must not lose it."""
    root = str(tmp_path / "ckpt")
    trainer = make_trainer(tmp_path)
    trainer.train(2, callbacks(trainer))
    before = step_bytes(root, 2)
    fail_second_network_write(monkeypatch)
    with pytest.raises(CheckpointError, match="checkpoint of episode 2"):
        trainer.save_checkpoint(2)
    monkeypatch.undo()
    assert not [f for f in all_files(root) if "tmp" in f]
    assert ckpt.complete_steps(root, NETWORKS) == [2]
    assert step_bytes(root, 2) == before


class SigtermAfterEpisode(Callback):
    def episode_end(self, params):
        os.kill(os.getpid(), signal.SIGTERM)


def test_failed_save_on_sigterm_is_a_checkpoint_error(tmp_path, monkeypatch):
    """The checkpoint saved on SIGTERM fails: CheckpointError (exit 1), not an interrupt."""
    root = str(tmp_path / "ckpt")
    trainer = make_trainer(tmp_path)
    fail_second_network_write(monkeypatch)
    with pytest.raises(CheckpointError, match="checkpoint of episode 1 .*there is no earlier "
                                              "complete checkpoint"):
        trainer.train(3, CallbackManager([SigtermAfterEpisode()]))
    assert all_files(root) == [".lock"]


def test_train_py_exits_1_with_one_line_when_checkpointing_fails(tmp_path):
    save_d4rl_hdf5(synthetic_dataset(200), str(tmp_path / "tiny.hdf5"))
    (tmp_path / "env.yaml").write_text(
        "dataset_params:\n  dataset: tiny.hdf5\n  env_id: Hopper-v5\n  batch_size: 16\n")
    (tmp_path / "algo.yaml").write_text(
        "policy_params:\n  hidden_sizes: [16, 16]\n"
        "trainer_params:\n  n_steps_per_episode: 2\n  eval_per_episode: 0\n")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "policy").write_text("a file where the policy folder goes")
    result = subprocess.run(
        [sys.executable, os.path.abspath(TRAIN_PY), "--episode", "1", "--device_target", "CPU",
         "--env_yaml", "env.yaml", "--algo_yaml", "algo.yaml", "--ckpt_path", "ckpt",
         "--log_file", "train.log"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith("Error: cannot save the checkpoint of episode 1 in checkpoint "
                                "folder 'ckpt': writing 'ckpt/policy/policy_1.ckpt' failed")
    assert re.search(r"needs about \d[\d,]* bytes", errors[0]), errors[0]
    assert (tmp_path / "train.log").read_text().splitlines()[-1] == errors[0]
    assert all_files(tmp_path / "ckpt") == [".lock", "policy"]


def test_host_arrays_write_that_fails_part_way_leaves_no_file(tmp_path, monkeypatch):
    """save_arrays (SAC replay buffer, online rows, snapshots) on a full disk."""
    def partial_savez(path, **arrays):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04partial")
        raise ENOSPC

    monkeypatch.setattr(np, "savez", partial_savez)
    target = tmp_path / "ckpt" / "buffer.npz"
    with pytest.raises(CheckpointError, match=r"buffer\.npz.*No space left.*needs about 4,000 bytes"):
        ckpt.save_arrays(str(target), {"rewards": np.zeros(1000, np.float32)})
    assert all_files(tmp_path) == []


@pytest.mark.parametrize("content, match", [(b"\xff{}", "unreadable or corrupt"),
                                            (b"[" * 100_000, "unreadable or corrupt"),
                                            (b"[1, 2]", "holds list, not a JSON object")])
def test_damaged_state_json_is_our_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "train_state_1.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"train_state_1\.json.*{match}"):
        ckpt.read_json(str(path))
