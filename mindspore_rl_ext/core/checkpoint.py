"""Checkpoint files: one folder per network, atomic writes, newest-N retention, resume.

Layout under a checkpoint root (MindSpore Reinforcement's, plus a resume state)::

    <root>/policy/policy_<N>.ckpt            one file per network, by episode N
    <root>/value_net_1/value_net_1_<N>.ckpt
    ...
    <root>/train_state/train_state_<N>.ckpt  targets, optimiser moments, lr step
    <root>/train_state/train_state_<N>.json  counters, RNG state, config fingerprint

Parameters are stored under their names *relative to the network cell*
(``cell.parameters_and_names()``), not ``Parameter.name``, which MindSpore rewrites
when an optimiser wraps the network (``opt.policy.trunk...``). Every file is written to
a temporary name and renamed, with MindSpore's CRC check on; the JSON state is written
last, so a step counts as complete only when its JSON exists.
"""
import json
import os
import re

import mindspore as ms
import numpy as np

from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.param_write import write_params

STATE_NAME = "train_state"


def _atomic_path(path):
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name[:-len('.ckpt')]}.tmp.ckpt")


def save_params(named_params, path, extra=None):
    """Save ``[(name, Parameter|Tensor|ndarray)]`` (+ ``extra`` {name: ndarray}) to ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    items = [{"name": n, "data": p} for n, p in named_params]
    for name, value in (extra or {}).items():
        items.append({"name": name, "data": ms.Tensor(np.asarray(value))})
    tmp = _atomic_path(path)
    ms.save_checkpoint(items, tmp, crc_check=True)
    os.replace(tmp, path)


def load_params(path):
    """Read a checkpoint into {name: numpy array}; CheckpointError names the bad file."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file '{path}' does not exist")
    try:
        loaded = ms.load_checkpoint(path, crc_check=True)
    except (ValueError, RuntimeError, OSError) as e:
        raise CheckpointError(
            f"checkpoint file '{path}' is truncated or corrupt and cannot be read ({e})"
        ) from None
    if not loaded:
        raise CheckpointError(f"checkpoint file '{path}' holds no parameters")
    return {name: value.asnumpy() for name, value in loaded.items()}


def named_params(cell, exclude_prefix=None):
    """``[(relative_name, Parameter)]`` of a cell, optionally without a name prefix."""
    return [(n, p) for n, p in cell.parameters_and_names()
            if exclude_prefix is None or not n.startswith(exclude_prefix)]


def assign_params(cell, values, path, exclude_prefix=None):
    """Copy ``values`` {relative_name: array} into ``cell``; every parameter must be there
    with the same shape, else CheckpointError naming ``path`` and the parameter."""
    targets, arrays = [], []
    for name, param in named_params(cell, exclude_prefix):
        if name not in values:
            raise CheckpointError(f"checkpoint file '{path}' has no parameter '{name}'")
        value = values[name]
        if tuple(value.shape) != tuple(param.shape):
            raise CheckpointError(
                f"checkpoint file '{path}': parameter '{name}' has shape {value.shape}, "
                f"the network expects {tuple(param.shape)} (different network sizes?)"
            )
        targets.append(param)
        arrays.append(value)
    write_params(targets, arrays)


def network_file(root, network, step):
    return os.path.join(root, network, f"{network}_{step}.ckpt")


def state_files(root, step):
    folder = os.path.join(root, STATE_NAME)
    return (os.path.join(folder, f"{STATE_NAME}_{step}.ckpt"),
            os.path.join(folder, f"{STATE_NAME}_{step}.json"))


def write_json(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"state file '{path}' is unreadable or corrupt ({e})") from None


def _steps_in(folder, prefix, suffix):
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+){re.escape(suffix)}$")
    if not os.path.isdir(folder):
        return set()
    return {int(m.group(1)) for m in map(pattern.match, os.listdir(folder)) if m}


def network_steps(root, networks):
    """Steps for which every network file exists, ascending."""
    sets = [_steps_in(os.path.join(root, n), n, ".ckpt") for n in networks]
    return sorted(set.intersection(*sets)) if sets else []


def complete_steps(root, networks):
    """Steps with every network file and the full resume state, ascending."""
    states = _steps_in(os.path.join(root, STATE_NAME), STATE_NAME, ".json")
    return [s for s in network_steps(root, networks) if s in states]


def prune(root, networks, keep):
    """Delete all but the newest ``keep`` steps (by step number) of each folder."""
    for name in [*networks, STATE_NAME]:
        folder = os.path.join(root, name)
        for suffix in (".ckpt", ".json"):
            steps = sorted(_steps_in(folder, name, suffix))
            for step in steps[:-keep] if keep > 0 else []:
                os.remove(os.path.join(folder, f"{name}_{step}{suffix}"))


def resolve_eval_checkpoint(ckpt_path, networks):
    """Map CKPT_PATH to (root, step): a checkpoint root folder (newest step with every
    network), or one network's file ``<root>/<net>/<net>_<N>.ckpt`` (step N)."""
    if os.path.isdir(ckpt_path):
        steps = network_steps(ckpt_path, networks)
        if not steps:
            raise CheckpointError(
                f"checkpoint folder '{ckpt_path}' holds no complete checkpoint "
                f"(expected files {', '.join(f'{n}/{n}_<N>.ckpt' for n in networks)})"
            )
        return ckpt_path, steps[-1]
    match = re.match(r"^(.*)_(\d+)\.ckpt$", os.path.basename(ckpt_path))
    network_dir = os.path.dirname(os.path.abspath(ckpt_path))
    if not match or match.group(1) not in networks \
            or os.path.basename(network_dir) != match.group(1):
        raise CheckpointError(
            f"CKPT_PATH '{ckpt_path}' is neither a checkpoint folder nor a network file "
            f"named <root>/<network>/<network>_<N>.ckpt with network in {networks}"
        )
    root, step = os.path.dirname(network_dir), int(match.group(2))
    for net in networks:
        if not os.path.isfile(network_file(root, net, step)):
            raise CheckpointError(
                f"checkpoint file '{network_file(root, net, step)}' is missing "
                f"(needed with '{ckpt_path}')"
            )
    return root, step
