"""One writer per checkpoint folder: a second training is refused, naming the holder;
a lock left by a killed process does not block; evaluation reads while training writes."""
import contextlib
import json
import os
import re
import signal
import subprocess
import sys

import pytest
from test_robustness import NETWORKS, callbacks, make_trainer

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.folder_lock import CheckpointFolderLock

HOLDER = ("import sys, time\n"
          "from mindspore_rl_ext.core.folder_lock import CheckpointFolderLock\n"
          "with CheckpointFolderLock(sys.argv[1]):\n"
          "    print('locked', flush=True)\n"
          "    time.sleep(600)\n")


@contextlib.contextmanager
def lock_holder(root):
    """Another process holding the writer lock of ``root``."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, root], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def holder_pid(root):
    with open(os.path.join(root, ".lock"), encoding="utf-8") as f:
        return json.load(f)["pid"]


def test_lock_is_exclusive_until_released(tmp_path):
    root = str(tmp_path / "ckpt")
    with CheckpointFolderLock(root):
        assert holder_pid(root) == os.getpid()
        with pytest.raises(CheckpointError, match=rf"checkpoint folder '{re.escape(root)}' is in use by "
                                                  rf"another training \(PID {os.getpid()} on "):
            CheckpointFolderLock(root).acquire()
    with CheckpointFolderLock(root):  # released: free again
        pass


def test_second_training_is_refused_while_evaluation_reads(tmp_path):
    root = str(tmp_path / "ckpt")
    first = make_trainer(tmp_path)
    first.train(2, callbacks(first))
    with lock_holder(root) as holder:
        other = make_trainer(tmp_path, seed=3)
        with pytest.raises(CheckpointError, match=rf"checkpoint folder '{re.escape(root)}' is in use by "
                                                  rf"another training \(PID {holder.pid} on "):
            other.train(4, callbacks(other))
        assert other.episode == 0  # refused before the resume
        assert ckpt.complete_steps(root, NETWORKS) == [2]
        assert other.load_networks(root) == 2  # evaluation takes no lock


def test_lock_left_by_a_killed_process_does_not_block(tmp_path):
    root = str(tmp_path / "ckpt")
    with lock_holder(root) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert holder_pid(root) == holder.pid  # the stale file is still there
    trainer = make_trainer(tmp_path)
    trainer.train(2, callbacks(trainer))
    assert ckpt.complete_steps(root, NETWORKS) == [2]
    assert holder_pid(root) == os.getpid()
