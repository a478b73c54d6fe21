"""Shared plumbing of the pretrained models (Iql, inverse dynamics): input shapes,
device-resident data, deterministic batch indices, resumable training state."""
import json
import pathlib
import time

import mindspore as ms
import numpy as np
from mindspore import Tensor

from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, DatasetError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.core.training_loop import trainable_state
from mindspore_rl_ext.pretrained import zoo as model_zoo

STATE_CKPT = "train_state.ckpt"
STATE_JSON = "train_state.json"
STEP_KEY = "__train_step__"


# ----------------------------------------------------------------------------- inputs
def leading_shape(*arrays_and_dims):
    """Broadcast leading shape of ``(array, last_dim)`` pairs; ConfigError on a bad last dim."""
    shapes = []
    for name, x, dim in arrays_and_dims:
        shape = tuple(x.shape)
        if not shape or shape[-1] != dim:
            raise ConfigError(f"'{name}' must have shape (..., {dim}), got {shape}")
        shapes.append(shape[:-1])
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ConfigError("leading shapes " + ", ".join(
            f"{n}{tuple(x.shape)}" for n, x, _ in arrays_and_dims)
            + " do not broadcast") from None


def to_tensor(x):
    """(Tensor float32, was_numpy) for a numpy array, list or Tensor."""
    if isinstance(x, Tensor):
        return (x if x.dtype == ms.float32 else x.astype(ms.float32)), False
    return Tensor(np.asarray(x, np.float32)), True


def flatten_inputs(specs):
    """specs: [(name, x, dim)] -> (2-D float32 Tensors, leading shape, any numpy input)."""
    tensors, any_numpy = [], False
    for name, x, dim in specs:
        t, was_numpy = to_tensor(x)
        tensors.append((name, t, dim))
        any_numpy = any_numpy or was_numpy
    lead = leading_shape(*tensors)
    n = int(np.prod(lead)) if lead else 1
    flat = []
    for _, t, dim in tensors:
        if tuple(t.shape[:-1]) != lead:
            t = t.broadcast_to(lead + (dim,))
        flat.append(t.reshape(n, dim))
    return flat, lead, any_numpy


# ----------------------------------------------------------------------------- data
def as_dict(data, what="data"):
    """A dict of arrays from a dict or a dataclass such as data.TransitionDataset."""
    if isinstance(data, dict):
        return data
    fields = getattr(data, "__dataclass_fields__", None)
    if fields is None:
        raise DatasetError(f"{what}: expected a dict of numpy arrays or a TransitionDataset, "
                           f"got {type(data).__name__}")
    return {name: getattr(data, name) for name in fields}


def column(data, *names, dim=None, what="data"):
    """The first of ``names`` present in dict ``data`` as float32 (N, dim) numpy array."""
    for name in names:
        if name in data and data[name] is not None:
            arr = np.asarray(data[name], np.float32)
            if dim == 1 and arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
                raise DatasetError(f"{what}: '{name}' has shape {arr.shape}, expected "
                                   f"(N, {dim if dim is not None else 'dim'})")
            if not np.isfinite(arr).all():
                raise DatasetError(f"{what}: '{name}' contains NaN or Inf")
            return arr
    raise DatasetError(f"{what}: missing key '{names[0]}'"
                       + (f" (or {', '.join(repr(n) for n in names[1:])})" if names[1:] else "")
                       + f"; got keys {sorted(data)}")


def same_length(arrays, what="data"):
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise DatasetError(f"{what}: arrays have different lengths {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise DatasetError(f"{what}: no transitions")
    return n


def draw_indices(seed, start_step, n, steps, batch):
    """Batch indices of the chunk starting at ``start_step``: (steps, batch) int32,
    uniform with replacement.

    A pure function of (seed, start_step): a resumed run draws exactly the batches it
    would have drawn without the interruption."""
    rng = np.random.default_rng([int(seed), int(start_step)])
    return rng.integers(0, n, size=(steps, batch), dtype=np.int64).astype(np.int32)


# ----------------------------------------------------------------------------- state
def save_train_state(ckpt_dir, trainer, state):
    """Write weights + optimiser state, then the JSON counters (last: marks completeness)."""
    from mindspore_rl_ext.core.checkpoint import save_params

    ckpt_dir = pathlib.Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    save_params(trainable_state(trainer), str(ckpt_dir / STATE_CKPT),
                extra={STEP_KEY: np.array(int(state["step"]), np.int64)})
    model_zoo._atomic_write_text(ckpt_dir / STATE_JSON,
                                 json.dumps(model_zoo._jsonable(state), indent=1) + "\n")


def load_train_state(ckpt_dir, trainer, fingerprint):
    """Restore a trainer from ckpt_dir; None when there is nothing to resume.

    CheckpointError when the saved run had another config or data (fingerprint)."""
    from mindspore_rl_ext.core.checkpoint import load_params

    ckpt_dir = pathlib.Path(ckpt_dir)
    path = ckpt_dir / STATE_JSON
    if not path.is_file():
        return None
    with read_errors_as(CheckpointError, f"'{path}' is not valid JSON"):
        state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"'{path}' must hold a JSON object with an integer 'step'")
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"'{ckpt_dir}' holds a run with another configuration or dataset "
            f"(saved {state.get('fingerprint')}, now {fingerprint}); use another checkpoint "
            f"folder or resume=False to start over")
    values = load_params(str(ckpt_dir / STATE_CKPT))
    saved_step = values.get(STEP_KEY)
    if saved_step is None or saved_step.size != 1 or int(saved_step) != state["step"]:
        raise CheckpointError(
            f"'{ckpt_dir}': {STATE_CKPT} and {STATE_JSON} are from different steps (the run "
            f"was stopped while saving); delete the folder or pass resume=False")
    _assign_except_buffers(trainer, values, ckpt_dir)
    return state


def _assign_except_buffers(trainer, values, ckpt_dir):
    from mindspore_rl_ext.core.weights import write_params

    path = str(pathlib.Path(ckpt_dir) / STATE_CKPT)
    targets, arrays = [], []
    for name, param in trainable_state(trainer):
        if name not in values:
            raise CheckpointError(f"checkpoint file '{path}' has no parameter '{name}'")
        if tuple(values[name].shape) != tuple(param.shape):
            raise CheckpointError(f"checkpoint file '{path}': parameter '{name}' has shape "
                                  f"{values[name].shape}, expected {tuple(param.shape)}")
        targets.append(param)
        arrays.append(values[name])
    write_params(targets, arrays)  # in-graph writes: compiled graphs see them (set_data not)


def fingerprint(config, n, extra=None):
    """A short JSON-able identity of a run: model config, data size and run settings."""
    return json.loads(json.dumps({"config": config, "n": int(n), **(extra or {})}))


# ----------------------------------------------------------------------------- logging
class Progress:
    """Log lines with step rate and ETA."""

    def __init__(self, log, total, start=0, prefix=""):
        self.log, self.total, self.prefix = log, total, prefix
        self.t0, self.s0 = time.time(), start

    def __call__(self, step, **values):
        if self.log is None:
            return
        dt = time.time() - self.t0
        done = step - self.s0
        ms_step = 1000 * dt / done if done else float("nan")
        eta = (self.total - step) * ms_step / 1000 if done else float("nan")
        body = ", ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in values.items())
        self.log(f"{self.prefix}step {step}/{self.total}: {body}, {ms_step:.1f} ms/step, "
                 f"eta {eta / 60:.1f} min")


def default_log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- zoo files
def target_folder(kind, name, zoo_dir, path):
    """Where save_pretrained writes: ``path``, else ``<zoo>/<kind>/<name>``."""
    if path is not None:
        return path
    if name is None:
        raise ConfigError("save_pretrained: give a model name (e.g. a dataset id) or a path")
    return model_zoo.model_dir(kind, name, model_zoo.user_zoo_dir(zoo_dir))


def params_dict(kind, cls_name, name, config, normalizer, obs_dim, training, metrics, extra):
    """The ``params.json`` of a zoo model (normaliser checked; None: identity)."""
    if normalizer is None:
        normalizer = {"mean": [0.0] * obs_dim, "std": [1.0] * obs_dim}
    mean = np.asarray(normalizer["mean"], np.float32).reshape(-1)
    std = np.asarray(normalizer["std"], np.float32).reshape(-1)
    if mean.shape != (obs_dim,) or std.shape != (obs_dim,) or not (std > 0).all():
        raise ConfigError(f"save_pretrained: normalizer mean/std must be {obs_dim} numbers "
                          f"(std > 0), got shapes {mean.shape} / {std.shape}")
    params = {"kind": kind, "model_class": cls_name,
              "name": model_zoo.canonical_name(name) if name else None,
              "normalizers": {"state": {"mean": mean.tolist(), "std": std.tolist()}},
              "config": dict(config), "training": training or {}, "metrics": metrics or {}}
    params.update(extra or {})
    return params


def convert_cleandiffuser(state_dict, index_map, keep_mlp=False):
    """{torch name: array} -> {our name: float32 array} for ``...mlp.<idx>.<weight|bias>``
    (keep_mlp: our cell also has an ``mlp`` attribute there, as the inverse dynamics)."""
    sd = state_dict.get("state_dict", state_dict) if isinstance(state_dict, dict) else state_dict
    out = {}
    for key, value in sd.items():
        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        parts = key.split(".")
        if "mlp" not in parts:
            out[key] = arr.astype(np.float32)
            continue
        k = parts.index("mlp")
        idx, leaf = parts[k + 1], parts[k + 2]
        if idx not in index_map:
            raise ConfigError(f"CleanDiffuser state_dict key '{key}': unexpected layer index "
                              f"{idx} (expected one of {sorted(index_map)})")
        target = index_map[idx]
        if target.startswith("norms."):
            leaf = {"weight": "gamma", "bias": "beta"}[leaf]
        out[".".join(parts[:k + 1 if keep_mlp else k] + [target, leaf])] = arr.astype(np.float32)
    return out


def load_converted(cell, values, what):
    """Assign converted CleanDiffuser weights (``what`` names the source in errors)."""
    from mindspore_rl_ext.core.checkpoint import assign_params

    assign_params(cell, values, what)
    cell.set_train(False)
