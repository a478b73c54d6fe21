"""Behaviour policies as plain NumPy: a SAC-style tanh-squashed Gaussian in one ``.npz``.

File format (``np.savez``, no pickled objects; all weights float32; L >= 1 trunk layers,
``x @ w + b`` convention, so a MindSpore ``nn.Dense.weight`` (out, in) is stored
transposed):

============================  =================  =========================================
key                           shape              meaning
============================  =================  =========================================
``trunk_w0`` .. ``trunk_w{L-1}``  (in_i, out_i)  trunk layer i, ReLU after every layer;
                                                 ``in_0 = obs_dim``, ``in_i = out_{i-1}``
``trunk_b0`` .. ``trunk_b{L-1}``  (out_i,)       trunk biases
``mean_w``, ``mean_b``        (H, act), (act,)   mean head on the trunk output (H = out_{L-1})
``log_std_w``, ``log_std_b``  (H, act), (act,)   state-dependent log-std head
``action_high``               (act,)             action_space.high of the env
``metadata_json``             () unicode str     JSON object, see below
============================  =================  =========================================

``metadata_json`` needs ``env_id`` (e.g. "Hopper-v5"), ``level`` ("medium" / "expert"),
``average_return`` and ``normalized_score`` (D4RL x100) of the stochastic policy as
evaluated by its trainer, ``train_steps`` and ``seed``; further keys are kept.

Action: ``u = mean + exp(clip(log_std, -20, 2)) * eps`` with ``eps ~ N(0, I)`` (``eps = 0``
when deterministic), ``a = tanh(u) * action_high``.

Shipped policies live in ``mindspore_rl_ext/data/behaviour_policies/<env>_<level>.npz``,
for example ``hopper_medium.npz``.
"""
import json
import os
import pathlib
import re

import numpy as np

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.core.files import read_errors_as

POLICY_DIR = pathlib.Path(__file__).with_name("behaviour_policies")
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
HEAD_KEYS = ("mean_w", "mean_b", "log_std_w", "log_std_b", "action_high")
METADATA_KEYS = ("env_id", "level", "average_return", "normalized_score", "train_steps", "seed")
_TRUNK_W = re.compile(r"trunk_w\d+")


class NumpyBehaviourPolicy:
    """A loaded policy: call it on observations to get actions."""

    def __init__(self, weights, metadata, path=None):
        self.path = path
        self.weights = _checked_weights(weights, path)
        self.metadata = _checked_metadata(metadata, path)
        n_layers = sum(1 for k in self.weights if k.startswith("trunk_w"))
        self._trunk = [(self.weights[f"trunk_w{i}"], self.weights[f"trunk_b{i}"])
                       for i in range(n_layers)]
        self.obs_dim = self._trunk[0][0].shape[0]
        self.act_dim = self.weights["mean_b"].shape[0]

    @classmethod
    def load(cls, path):
        """Read and check a policy file; DatasetError naming it when missing or damaged."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise DatasetError(f"behaviour policy file '{path}' does not exist")
        with read_errors_as(DatasetError, f"'{path}' is not a readable .npz policy file "
                                          f"(truncated, corrupt or another format)"):
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            if "metadata_json" not in arrays:
                raise DatasetError(f"'{path}' has no 'metadata_json' entry")
            try:
                metadata = json.loads(str(arrays.pop("metadata_json")))
            except (ValueError, RecursionError) as err:
                raise DatasetError(f"'{path}': 'metadata_json' is not valid JSON: {err}") from err
            return cls(arrays, metadata, path)

    @staticmethod
    def save(path, weights, metadata):
        """Check weights/metadata against the format and write them with np.savez."""
        weights = _checked_weights(weights, path)
        metadata = _checked_metadata(metadata, path)
        with open(path, "wb") as f:
            np.savez(f, **weights, metadata_json=np.array(_metadata_json(metadata, path)))

    def __call__(self, obs, rng, deterministic=False):
        """Actions for obs of shape (obs_dim,) or (batch, obs_dim); rng: np.random.Generator."""
        h = np.asarray(obs, np.float32)
        if h.shape[-1:] != (self.obs_dim,):
            raise DatasetError(f"behaviour policy {self.path} expects observations of size "
                               f"{self.obs_dim}, got shape {h.shape}")
        for w, b in self._trunk:
            h = np.maximum(h @ w + b, 0.0)
        u = h @ self.weights["mean_w"] + self.weights["mean_b"]
        if not deterministic:
            log_std = np.clip(h @ self.weights["log_std_w"] + self.weights["log_std_b"],
                              LOG_STD_MIN, LOG_STD_MAX)
            u = u + np.exp(log_std) * rng.standard_normal(u.shape, dtype=np.float32)
        return np.tanh(u) * self.weights["action_high"]


def policy_path(env, level, policy_dir=None):
    """Where the policy for env ('hopper') and level ('medium') lives."""
    return pathlib.Path(policy_dir or POLICY_DIR) / f"{env}_{level}.npz"


def shipped_policies(policy_dir=None):
    """Names '<env>_<level>' of the policy files present."""
    folder = pathlib.Path(policy_dir or POLICY_DIR)
    return sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []


def load_behaviour_policy(env, level, policy_dir=None):
    """Load <policy_dir or the package's behaviour_policies>/<env>_<level>.npz."""
    path = policy_path(env, level, policy_dir)
    if not path.is_file():
        raise DatasetError(f"no behaviour policy '{env}_{level}' at '{path}'; present: "
                           f"{shipped_policies(policy_dir) or 'none'}")
    return NumpyBehaviourPolicy.load(path)


def _checked_weights(weights, path):
    where = f"behaviour policy '{path}'"
    n_layers = max(1, sum(1 for key in weights if _TRUNK_W.fullmatch(key)))
    expected = {f"trunk_{wb}{i}" for i in range(n_layers) for wb in "wb"} | set(HEAD_KEYS)
    missing, unknown = sorted(expected - set(weights)), sorted(set(weights) - expected)
    if missing or unknown:
        raise DatasetError(f"{where}: missing keys {missing}, unknown keys {unknown}; expected "
                           f"trunk_w0..trunk_w{{L-1}}, trunk_b0..trunk_b{{L-1}}, "
                           f"{', '.join(HEAD_KEYS)}")
    out = {k: np.asarray(v) for k, v in weights.items()}
    for key, arr in out.items():
        if arr.dtype != np.float32:
            raise DatasetError(f"{where}: '{key}' has dtype {arr.dtype}, expected float32")
    width = out["trunk_w0"].shape[0] if out["trunk_w0"].ndim == 2 else None
    for i in range(n_layers):
        w, b = out[f"trunk_w{i}"], out[f"trunk_b{i}"]
        if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
            raise DatasetError(f"{where}: 'trunk_w{i}' {w.shape} / 'trunk_b{i}' {b.shape} do "
                               f"not chain: expected ({width}, out) and (out,)")
        width = w.shape[1]
    act = out["mean_b"].shape
    for head in ("mean", "log_std"):
        w, b = out[f"{head}_w"], out[f"{head}_b"]
        if w.shape != (width, *act) or b.shape != act or len(act) != 1:
            raise DatasetError(f"{where}: '{head}_w' {w.shape} / '{head}_b' {b.shape}: expected "
                               f"({width}, act_dim) and (act_dim,) with act_dim from 'mean_b'")
    if out["action_high"].shape != act:
        raise DatasetError(f"{where}: 'action_high' has shape {out['action_high'].shape}, "
                           f"expected {act}")
    return out


def _checked_metadata(metadata, path):
    if not isinstance(metadata, dict):
        raise DatasetError(f"behaviour policy '{path}': metadata must be a JSON object (dict)")
    missing = [k for k in METADATA_KEYS if k not in metadata]
    if missing:
        raise DatasetError(f"behaviour policy '{path}': metadata lacks {missing}; expected "
                           f"{', '.join(METADATA_KEYS)}")
    _metadata_json(metadata, path)
    return dict(metadata)


def _metadata_json(metadata, path):
    """JSON text of metadata; NumPy scalars become Python numbers."""
    try:
        return json.dumps(metadata, default=_numpy_scalar)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"behaviour policy '{path}': metadata is not JSON-serialisable: "
                           f"{err}") from err


def _numpy_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
