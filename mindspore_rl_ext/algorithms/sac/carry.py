"""Carry a SAC run to another machine: its checkpoint without the replay rows.

A SAC checkpoint holds the whole replay buffer (about 170 MB for a million Walker2d
rows), too large to commit, so a run that needs more than one machine session (an
expert policy: ~1M env steps) could not go on after the machine is gone.
:func:`pack_carry` writes the newest complete checkpoint of a run without those rows:
networks, targets, Adam moments, log-alpha, counters, RNG, simulator state and
evaluation history, a few MB. :func:`unpack_carry` puts it where the run's checkpoints
go. A trainer that resumes from it finds the rows dropped and refills the buffer with
``refill_steps`` env steps of its current stochastic policy, without updates, before
the updates go on (``SACTrainer._refill``).

This departs from an uninterrupted run: after the carry the buffer holds only data of
the current policy and later ones, not the earlier policies' transitions. The refill
steps are env interactions but not counted in the run's env-step counter (so the
evaluation schedule and the step budget keep their meaning); the trainer records them
as ``refill_env_steps``.
"""
import os
import shutil

import mindspore as ms

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.trainer import HOST_ARRAY_PREFIX
from mindspore_rl_ext.data.replay_buffer import ReplayBuffer

NETWORKS = ("policy", "q1", "q2")  # SACTrainer.trainable_variables
REPLAY_ARRAYS = tuple(f"replay_{field}" for field in ReplayBuffer.FIELDS)


def _newest_step(root: str) -> int:
    steps = ckpt.complete_steps(root, NETWORKS)
    if not steps:
        raise CheckpointError(f"checkpoint folder '{root}' holds no complete SAC checkpoint "
                              f"(files {', '.join(f'{n}/{n}_<N>.ckpt' for n in NETWORKS)} and "
                              f"{ckpt.STATE_NAME}/{ckpt.STATE_NAME}_<N>.json)")
    return steps[-1]


def pack_carry(work_dir: str, dest: str) -> dict:
    """Write the newest complete checkpoint of ``<work_dir>/ckpt`` to the checkpoint folder
    ``dest`` without its replay rows (older steps in ``dest`` are removed). Returns
    {"episode", "env_step", "dropped_rows", "bytes"}. CheckpointError when there is none."""
    root = os.path.join(work_dir, "ckpt")
    step = _newest_step(root)
    state_ckpt, state_json = ckpt.state_files(root, step)
    state = ckpt.read_json(state_json)
    host, layout = state["host_state"], state["host_arrays"]
    if host.get("replay_dropped"):
        raise CheckpointError(f"checkpoint '{state_json}' is itself a carried one whose "
                              f"buffer was never refilled; carry '{root}' as it is")
    host["replay_dropped"] = {"size": host["replay_size"], "ptr": host["replay_ptr"]}
    host.update(replay_size=0, replay_ptr=0)
    for key in REPLAY_ARRAYS:
        dtype, shape = layout[key]
        layout[key] = [dtype, [0] + shape[1:]]
    replay_entries = {HOST_ARRAY_PREFIX + key for key in REPLAY_ARRAYS}
    kept = [(name, ms.Tensor(value)) for name, value in ckpt.load_params(state_ckpt).items()
            if name not in replay_entries]
    networks = {}
    for name in NETWORKS:
        values = ckpt.load_params(ckpt.network_file(root, name, step))
        networks[name] = ([(n, ms.Tensor(v)) for n, v in values.items()], None)
    ckpt.save_step(dest, step, networks, kept, state)
    ckpt.prune(dest, NETWORKS, 1)
    size = sum(os.path.getsize(os.path.join(folder, f))
               for folder, _, files in os.walk(dest) for f in files)
    return {"episode": step, "env_step": host["step"],
            "dropped_rows": host["replay_dropped"]["size"], "bytes": size}


def unpack_carry(carry: str, work_dir: str) -> bool:
    """Copy the carried checkpoint ``carry`` to ``<work_dir>/ckpt`` when that folder holds no
    complete checkpoint yet; True when copied (a run's own checkpoints win)."""
    _newest_step(carry)  # a clear error for a folder that holds no checkpoint
    root = os.path.join(work_dir, "ckpt")
    if ckpt.complete_steps(root, NETWORKS):
        return False
    shutil.copytree(carry, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".lock"))
    return True
