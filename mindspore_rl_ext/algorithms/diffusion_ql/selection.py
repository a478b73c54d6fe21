"""Model selection and early stopping of the reference ``main.py`` (Zhendong-Wang/Diffusion-Policies-for-Offline-RL).

Every evaluation appends one row to ``eval.npy``:
``[raw, raw_std, norm, norm_std, bc_loss, ql_loss, actor_loss, critic_loss, episode]``
(losses averaged over the episodes since the previous evaluation). Then:

* ``ms online``: the row with the highest normalised score (raw return when the dataset has
  no reference scores) -> ``best_score_online.txt``.
* ``ms offline``: the row ranked ``top_k`` by BC loss -> ``best_score_offline.txt``.
  ``top_k_mode = intended`` takes ``argsort(bc)[top_k]`` (the (top_k+1)-th smallest BC loss);
  ``reference`` replicates DQL's ``scores[argsort(bc) == top_k][0]``, which selects the row
  whose *position* in the argsort equals top_k (the inverse permutation) -- a bug.
* ``early_stop``: DQL's EarlyStopping(tolerance=1, min_delta=0): stop at the first evaluation
  whose block-mean BC loss is higher than the previous block's.
"""
import json
import os

import numpy as np

from mindspore_rl_ext.core.callbacks import Callback
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.files import read_errors_as

COLUMNS = ("raw", "raw_std", "norm", "norm_std", "bc_loss", "ql_loss", "actor_loss",
           "critic_loss", "episode")


class EarlyStopped(Exception):
    """Raised by the selection callback when the BC loss went up (``--early_stop``)."""


def select_online(rows):
    """Index of the best row by normalised score (column 2)."""
    rows = np.asarray(rows, np.float64)
    return int(np.argmax(rows[:, 2]))


def select_offline(rows, top_k, mode="intended"):
    """Index of the row chosen by BC loss rank ``top_k`` (see module docstring)."""
    rows = np.asarray(rows, np.float64)
    bc = rows[:, 4]
    order = np.argsort(bc, kind="stable")
    if mode == "reference":
        where = np.nonzero(order == top_k)[0]
        if len(where):  # the reference raises IndexError when there are <= top_k rows
            return int(where[0])
    return int(order[min(top_k, len(order) - 1)])


def best_score_record(row):
    """The reference's best_score_*.txt JSON content for one eval row."""
    return {"epoch": int(row[8]), "best normalized score avg": float(row[2]),
            "best normalized score std": float(row[3]), "best raw score avg": float(row[0]),
            "best raw score std": float(row[1])}


class ModelSelectionCallback(Callback):
    """Collects losses per episode; on each evaluation episode appends an eval row, writes
    ``eval.npy`` and ``best_score_{ms}.txt`` in ``results_dir``, and applies early stop."""

    def __init__(self, log, results_dir, eval_rate, ms="online", top_k=1, top_k_mode="intended",
                 early_stop=False):
        self.log = log
        self.results_dir = results_dir
        self.eval_rate = int(eval_rate)
        self.ms = ms
        self.top_k = int(top_k)
        self.top_k_mode = top_k_mode
        self.early_stop = bool(early_stop)
        self.rows = []
        self._block = []
        self._prev_bc = 100.0  # the reference's initial ``metric``
        path = os.path.join(results_dir, "eval.npy")
        if os.path.isfile(path):  # a resumed run keeps its earlier rows
            with read_errors_as(CheckpointError, f"evaluation history '{path}' is corrupt"):
                self.rows = [list(r) for r in np.load(path)]
            if self.rows:
                self._prev_bc = float(self.rows[-1][4])

    def episode_end(self, params):
        self._block.append(dict(params.losses))
        if self.eval_rate <= 0 or params.cur_episode % self.eval_rate != 0:
            return
        trainer = params.trainer
        returns = np.asarray(getattr(trainer, "last_returns", [np.nan]), np.float64)
        norm = trainer.normalized_scores(returns)
        block = self._block
        self._block = []
        mean = lambda k: float(np.mean([b.get(k, np.nan) for b in block]))  # noqa: E731
        row = [float(returns.mean()), float(returns.std()), float(np.mean(norm)),
               float(np.std(norm)), mean("bc_loss"), mean("ql_loss"), mean("actor_loss"),
               mean("critic_loss"), float(params.cur_episode)]
        self.rows = [r for r in self.rows if r[8] < params.cur_episode] + [row]
        os.makedirs(self.results_dir, exist_ok=True)
        np.save(os.path.join(self.results_dir, "eval.npy"), np.asarray(self.rows))
        if self.ms == "online":
            best = self.rows[select_online(self.rows)]
        else:
            best = self.rows[select_offline(self.rows, self.top_k, self.top_k_mode)]
        record = best_score_record(best)
        with open(os.path.join(self.results_dir, f"best_score_{self.ms}.txt"), "w",
                  encoding="utf-8") as f:
            f.write(json.dumps(record))
        self.log.info(f"Model selection ({self.ms}): best so far at episode {record['epoch']}, "
                      f"normalized score {record['best normalized score avg']:.2f}")
        bc = row[4]
        if self.early_stop and bc - self._prev_bc > 0:
            self._prev_bc = bc
            raise EarlyStopped(f"BC loss rose from the previous block to {bc:.5f} at episode "
                               f"{params.cur_episode}")
        self._prev_bc = bc
