"""``TransitionDataset``: the flat (s, a, r, s', done) arrays every loader returns.

Episode layout: ``episode_ends`` holds the *exclusive* end index of each episode, so
episode k is rows ``[episode_ends[k-1], episode_ends[k])`` (the first starts at 0) and
``episode_ends[-1] == len(dataset)``. Every episode's last row has ``terminals == 1``
(the environment terminated: do not bootstrap) or ``timeouts == 1`` (it was cut: time
limit, step budget or end of file; ``next_observations`` is still valid), and no other
row has either flag; ``validate()`` checks this.
"""
from dataclasses import dataclass, field

import numpy as np

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data import scores


@dataclass
class TransitionDataset:
    """Flat transitions plus episode boundaries, reference scores and provenance."""

    observations: np.ndarray  # (N, obs_dim) float32
    actions: np.ndarray  # (N, act_dim) float32
    rewards: np.ndarray  # (N,) float32
    next_observations: np.ndarray  # (N, obs_dim) float32
    terminals: np.ndarray  # (N,) float32, 0/1
    timeouts: np.ndarray  # (N,) float32, 0/1
    episode_ends: np.ndarray  # (episodes,) int64, exclusive ends
    env_id: str | None = None  # gymnasium id, e.g. "Hopper-v5"
    ref_min_score: float | None = None
    ref_max_score: float | None = None
    source: str = ""  # where it came from: a Minari id or a file path
    metadata: dict = field(default_factory=dict)

    def __len__(self):
        return int(self.rewards.shape[0])

    @property
    def obs_dim(self):
        return int(self.observations.shape[1])

    @property
    def act_dim(self):
        return int(self.actions.shape[1])

    def episode_starts(self):
        """Start index of each episode."""
        return np.concatenate(([0], self.episode_ends[:-1])).astype(np.int64)

    def episode_returns(self):
        """Undiscounted return of each episode, float64, shape (episodes,)."""
        if len(self) == 0:
            return np.zeros(0, np.float64)
        return np.add.reduceat(self.rewards.astype(np.float64), self.episode_starts())

    def normalized_score(self, returns):
        """D4RL convention: 100 * (R - ref_min) / (ref_max - ref_min); scalar in, float out."""
        if self.ref_min_score is None or self.ref_max_score is None:
            raise DatasetError(
                f"dataset '{self.source}' has no reference scores (ref_min_score="
                f"{self.ref_min_score}, ref_max_score={self.ref_max_score}); expected both, "
                f"or use mindspore_rl_ext.data.scores.normalized_score(env_name, returns)")
        return scores.normalize(returns, self.ref_min_score, self.ref_max_score)

    def validate(self):
        """Check shapes, dtypes, finiteness, 0/1 flags and episode boundaries; return self."""
        n = len(self)
        where = f"dataset '{self.source}'"
        for name, ndim in (("observations", 2), ("actions", 2), ("rewards", 1),
                           ("next_observations", 2), ("terminals", 1), ("timeouts", 1)):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
                raise DatasetError(f"{where}: '{name}' must be a float32 numpy array, got "
                                   f"{getattr(arr, 'dtype', type(arr).__name__)}")
            if arr.ndim != ndim or arr.shape[0] != n:
                raise DatasetError(f"{where}: '{name}' has shape {arr.shape}, expected "
                                   f"{'(N, dim)' if ndim == 2 else '(N,)'} with N={n}")
            bad = ~np.isfinite(arr)
            if bad.any():
                raise DatasetError(f"{where}: '{name}' contains NaN or Inf "
                                   f"(first at row {int(np.argwhere(bad)[0][0])})")
        if self.next_observations.shape != self.observations.shape:
            raise DatasetError(f"{where}: 'next_observations' has shape "
                               f"{self.next_observations.shape}, expected "
                               f"{self.observations.shape} like 'observations'")
        for name in ("terminals", "timeouts"):
            arr = getattr(self, name)
            if not ((arr == 0) | (arr == 1)).all():
                raise DatasetError(f"{where}: '{name}' must hold only 0 and 1")
        ends = self.episode_ends
        if not isinstance(ends, np.ndarray) or ends.dtype != np.int64 or ends.ndim != 1:
            raise DatasetError(f"{where}: 'episode_ends' must be a 1-D int64 numpy array")
        expected = np.flatnonzero(np.maximum(self.terminals, self.timeouts)) + 1
        if not np.array_equal(ends, expected) or (n and ends[-1] != n):
            raise DatasetError(f"{where}: 'episode_ends' must be the rows after each terminal "
                               f"or timeout, ending at N={n} (got {len(ends)} ends for "
                               f"{len(expected)} terminal/timeout rows)")
        return self

    def check_env_dims(self, env):
        """Raise DatasetError unless env's observation and action shapes match the arrays."""
        name = getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
        obs_shape = tuple(env.observation_space.shape or ())
        act_shape = tuple(env.action_space.shape or ())
        if obs_shape != (self.obs_dim,) or act_shape != (self.act_dim,):
            raise DatasetError(
                f"dataset '{self.source}' (env_id {self.env_id}) has obs_dim {self.obs_dim} and "
                f"act_dim {self.act_dim}, but env {name} expects observations {obs_shape} and "
                f"actions {act_shape}")
