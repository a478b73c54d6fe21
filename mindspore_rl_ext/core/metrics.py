"""``metrics.csv`` (and optional TensorBoard event files) for every training.

One row per training episode: ``episode``, ``gradient_step``, one column per loss,
``eval_return`` and ``normalized_score`` (empty on episodes without an evaluation) and
``wall_time_s`` (seconds of training, counted across resumes). On resume, rows after the
episode resumed from are dropped, since those episodes are trained again. TensorBoard
files need the ``tensorboard`` extra (``pip install mindspore_rl_ext[tensorboard]``).
"""
import csv
import os
import time

from mindspore_rl_ext.core.callbacks import Callback
from mindspore_rl_ext.core.errors import ConfigError

METRICS_FILE = "metrics.csv"
FIXED_HEAD = ("episode", "gradient_step")
FIXED_TAIL = ("eval_return", "normalized_score", "wall_time_s")


def read_metrics(path: str) -> list[dict]:
    """The rows of a ``metrics.csv`` as dicts of floats (None for an empty cell)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
                for row in csv.DictReader(f)]


def _tensorboard_writer(folder: str):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError("trainer_params.tensorboard is true but tensorboardX is not "
                          "installed: pip install 'mindspore_rl_ext[tensorboard]'") from None
    return SummaryWriter(folder)


class MetricsCallback(Callback):
    """Appends one row per episode to ``path``; with ``tensorboard`` also writes event
    files to ``<folder of path>/tensorboard``. Runs after the evaluate callback."""

    def __init__(self, path: str, steps_per_episode: int, tensorboard: bool = False):
        self.path = path
        self.steps = int(steps_per_episode)
        self.tensorboard = tensorboard
        self._columns = None
        self._writer = None
        self._offset = 0.0  # wall time of the rows kept from before a resume
        self._start = None

    def begin(self, params):
        kept = []
        if params.cur_episode > 0 and os.path.isfile(self.path):
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                kept = [r for r in reader if int(r["episode"]) <= params.cur_episode]
                if kept:
                    self._columns = reader.fieldnames
                    self._offset = float(kept[-1]["wall_time_s"])
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            if kept:
                writer = csv.DictWriter(f, self._columns)
                writer.writeheader()
                writer.writerows(kept)
        os.replace(tmp, self.path)
        if self.tensorboard:
            self._writer = _tensorboard_writer(os.path.join(os.path.dirname(self.path),
                                                            "tensorboard"))
        self._start = time.perf_counter()

    def episode_begin(self, params):
        params.pop("last_eval", None)  # set by the evaluate callback on evaluation episodes

    def episode_end(self, params):
        mean_return, score = params.get("last_eval", (None, None))
        row = {"episode": params.cur_episode, "gradient_step": params.cur_episode * self.steps,
               **params.losses, "eval_return": mean_return, "normalized_score": score,
               "wall_time_s": round(self._offset + time.perf_counter() - self._start, 3)}
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            if self._columns is None:
                self._columns = [*FIXED_HEAD, *params.losses, *FIXED_TAIL]
                csv.DictWriter(f, self._columns).writeheader()
            csv.DictWriter(f, self._columns).writerow(
                {k: ("" if v is None else v) for k, v in row.items() if k in self._columns})
        if self._writer is not None:
            step = row["gradient_step"]
            for name, value in params.losses.items():
                self._writer.add_scalar(f"loss/{name}", value, step)
            for name in ("eval_return", "normalized_score"):
                if row[name] is not None:
                    self._writer.add_scalar(f"eval/{name}", row[name], step)
            self._writer.flush()

    def end(self, params):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
