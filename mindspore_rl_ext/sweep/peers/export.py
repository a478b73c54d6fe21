"""A dataset as a plain ``.npz`` for a peer library: our loaders resolve it, NumPy alone
reads it back.

Keys: ``observations``, ``actions``, ``rewards``, ``next_observations``, ``terminals``,
``timeouts`` (the flat arrays of :class:`~mindspore_rl_ext.data.TransitionDataset`),
``episode_ends`` (exclusive end index of each episode), ``env_id`` and ``source``
(strings), ``ref_min_score`` and ``ref_max_score`` (NaN when the dataset has none).
"""
import os

import numpy as np

from mindspore_rl_ext.data.transitions import TransitionDataset

ARRAYS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts",
          "episode_ends")


def export_dataset(dataset: TransitionDataset, path: str) -> str:
    """Write ``dataset`` to ``path`` (atomically: a temporary file, then a rename)."""
    refs = [np.nan if v is None else float(v)
            for v in (dataset.ref_min_score, dataset.ref_max_score)]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **{k: getattr(dataset, k) for k in ARRAYS}, env_id=str(dataset.env_id or ""),
             source=str(dataset.source), ref_min_score=refs[0], ref_max_score=refs[1])
    os.replace(tmp, path)
    return path
