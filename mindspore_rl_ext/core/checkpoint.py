"""Checkpoint files: one folder per network, atomic writes, newest-N retention, resume.

Layout under a checkpoint root (MindSpore Reinforcement's, plus a resume state)::

    <root>/policy/policy_<N>.ckpt            one file per network, by episode N
    <root>/value_net_1/value_net_1_<N>.ckpt
    ...
    <root>/train_state/train_state_<N>.ckpt  targets, optimiser moments, lr step
    <root>/train_state/train_state_<N>.json  counters, RNG state, config fingerprint
    <root>/.lock                             the writer's lock (core.folder_lock)

Parameters are stored under their names *relative to the network cell*
(``cell.parameters_and_names()``), not ``Parameter.name``, which MindSpore rewrites
when an optimiser wraps the network (``opt.policy.trunk...``). Every file of a step is
written to a temporary name, with MindSpore's CRC check on, then all are renamed, the
JSON state last, so a step counts as complete only when its JSON exists. A write error
(a full disk, say) becomes a CheckpointError naming the folder, the file, the bytes
needed and those free, and leaves no temporary or partial file behind.
"""
import json
import os
import re
import shutil

import mindspore as ms
import numpy as np

from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.core.weights import write_params

STATE_NAME = "train_state"
WRITE_ERRORS = (OSError, RuntimeError, ValueError)  # what a failed write raises


def _atomic_path(path):
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name[:-len('.ckpt')]}.tmp.ckpt")


def _json_tmp(path):
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")


def _temp_paths(path):
    """The temporary names a write of ``path`` uses: ours, and for a .ckpt also the one
    ``ms.save_checkpoint`` writes before its own rename (``.<name>.tmp.tmp``)."""
    if path.endswith(".json"):
        return [_json_tmp(path)]
    tmp = _atomic_path(path)
    return [tmp, os.path.splitext(tmp)[0] + ".tmp"]


def _discard(paths):
    """Remove what exists of ``paths``; a failure here must not hide the first error."""
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass


def _items(named_params, extra=None):
    items = [{"name": n, "data": p} for n, p in named_params]
    for name, value in (extra or {}).items():
        items.append({"name": name, "data": ms.Tensor(np.asarray(value))})
    return items


def _nbytes(items):
    """About the size of a checkpoint file holding ``items``."""
    return sum(int(item["data"].nbytes) + len(item["name"]) for item in items)


def _write_ckpt_tmp(items, path):
    """Write ``items`` to the temporary name of ``path``; returns that name."""
    tmp = _atomic_path(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ms.save_checkpoint(items, tmp, crc_check=True)
    return tmp


def _write_text_tmp(text, path):
    """Write ``text`` (fsynced) to the temporary name of ``path``; returns that name."""
    tmp = _json_tmp(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _free_space(folder):
    """'N bytes are free there' for the disk holding ``folder`` (or its nearest parent)."""
    folder = os.path.abspath(folder)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes are free there"
    except OSError:
        return "the free space there is unknown"


def _write_failure(head, error, needed, folder):
    """``head (error); it needs about N bytes, M bytes are free there``."""
    return (f"{head} ({str(error) or type(error).__name__}); it needs about {needed:,} "
            f"bytes, {_free_space(folder)}")


def save_params(named_params, path, extra=None):
    """Save ``[(name, Parameter|Tensor|ndarray)]`` (+ ``extra`` {name: ndarray}) to ``path``
    atomically; on a write error no temporary file remains and CheckpointError names
    the file, the bytes needed and those free."""
    items = _items(named_params, extra)
    try:
        os.replace(_write_ckpt_tmp(items, path), path)
    except BaseException as e:
        _discard(_temp_paths(path))
        if not isinstance(e, WRITE_ERRORS):
            raise
        folder = os.path.dirname(os.path.abspath(path))
        raise CheckpointError(_write_failure(
            f"cannot save checkpoint file '{path}' in folder '{folder}'", e, _nbytes(items),
            folder)) from None


def save_arrays(path: str, arrays: dict) -> None:
    """Write {name: ndarray} to the ``.npz`` ``path`` atomically (host-side state: a replay
    buffer, online rows, policy snapshots); a write error leaves no temporary file and
    becomes a CheckpointError naming the file, the bytes needed and those free."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.tmp.npz")
    try:
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException as e:
        _discard([tmp])
        if not isinstance(e, WRITE_ERRORS):
            raise
        folder = os.path.dirname(tmp)
        needed = sum(np.asarray(a).nbytes for a in arrays.values())
        raise CheckpointError(_write_failure(
            f"cannot save '{path}' in folder '{folder}'", e, needed, folder)) from None


def save_step(root: str, step: int, networks: dict, state_params: list, state: dict) -> None:
    """Write checkpoint ``step`` under ``root``: each network's file (``networks``:
    {name: (named_params, extra)}), the train-state file and the JSON ``state``.

    Every file is written to its temporary name first, then all are renamed, the JSON
    last, so the step is complete only when all of it is there. On any failure the
    temporary and new files of this step are removed (earlier steps are untouched); a
    write error becomes a CheckpointError naming the folder, the file, the bytes the
    step needs and those free, and the newest complete checkpoint left.
    """
    state_ckpt, state_json = state_files(root, step)
    files = [(network_file(root, name, step), _items(params, extra))
             for name, (params, extra) in networks.items()]
    files.append((state_ckpt, _items(state_params)))
    text = json.dumps(state, indent=1)
    needed = sum(_nbytes(items) for _, items in files) + len(text.encode())
    paths = [path for path, _ in files] + [state_json]
    written, committing, path = [], False, None
    try:
        for path, items in files:
            written.append((_write_ckpt_tmp(items, path), path))
        path = state_json
        written.append((_write_text_tmp(text, path), path))
        committing = True
        if os.path.exists(state_json):  # rewriting this step: never complete while mixed
            os.remove(state_json)
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException as e:
        _discard([tmp for p in paths for tmp in _temp_paths(p)])
        if committing:
            _discard(paths)
        if not isinstance(e, WRITE_ERRORS):
            raise
        done = complete_steps(root, list(networks))
        kept = (f"the newest complete checkpoint (episode {done[-1]}) is intact" if done
                else "there is no earlier complete checkpoint")
        message = _write_failure(
            f"cannot save the checkpoint of episode {step} in checkpoint folder '{root}': "
            f"writing '{path}' failed", e, needed, root)
        raise CheckpointError(f"{message}; its partial files were removed, {kept}") from None


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


def read_json(path):
    """The JSON object in state file ``path``; CheckpointError naming it otherwise."""
    with read_errors_as(CheckpointError, f"state file '{path}' is unreadable or corrupt"):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    if not isinstance(state, dict):
        raise CheckpointError(f"state file '{path}' holds {type(state).__name__}, not a JSON object")
    return state


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
