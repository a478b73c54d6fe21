"""The replay buffer of online training (a FIFO of transitions in NumPy on the host) and
the D4RL-format dump of its rows (a medium-replay dataset)."""
import json

import numpy as np

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError


class ReplayBuffer:
    """Fixed-capacity ring of transitions. As a config entry: ``params = {state_dim,
    action_dim, capacity, batch_size}``."""

    FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals",
              "timeouts")

    def __init__(self, params: dict):
        self.state_dim, self.action_dim = int(params["state_dim"]), int(params["action_dim"])
        self.capacity = int(params["capacity"])
        self.batch_size = int(params["batch_size"])
        cap, obs, act = self.capacity, self.state_dim, self.action_dim
        self.observations = np.zeros((cap, obs), np.float32)
        self.actions = np.zeros((cap, act), np.float32)
        self.rewards = np.zeros((cap,), np.float32)
        self.next_observations = np.zeros((cap, obs), np.float32)
        self.terminals = np.zeros((cap,), bool)
        self.timeouts = np.zeros((cap,), bool)
        self.size = 0
        self.ptr = 0

    def add(self, obs, act, rew: float, next_obs, terminal: bool, timeout: bool) -> None:
        i = self.ptr
        self.observations[i] = obs
        self.actions[i] = act
        self.rewards[i] = rew
        self.next_observations[i] = next_obs
        self.terminals[i] = terminal
        self.timeouts[i] = timeout
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample_indices(self, rng: np.random.Generator, n_batches: int,
                       batch_size: int) -> np.ndarray:
        """(n, batch) uniform row indices of stored transitions, drawn with ``rng``."""
        return rng.integers(0, self.size, size=(n_batches, batch_size))

    def device_rows(self, rows) -> dict:
        """Rows ``rows`` as a learner's device columns: observations, actions, rewards,
        next_observations, terminals (float32)."""
        return {"observations": self.observations[rows], "actions": self.actions[rows],
                "rewards": self.rewards[rows], "next_observations": self.next_observations[rows],
                "terminals": self.terminals[rows].astype(np.float32)}

    def ordered(self) -> dict:
        """All stored transitions, oldest first, as a dict of arrays (copies)."""
        if self.size < self.capacity:
            order = np.arange(self.size)
        else:
            order = (np.arange(self.capacity) + self.ptr) % self.capacity
        return {k: getattr(self, k)[order].copy() for k in self.FIELDS}

    def state(self) -> dict:
        """The stored rows in their slots (``replay_<field>`` arrays) and the write
        position: what :meth:`load_state` needs to continue exactly."""
        out = {f"replay_{k}": getattr(self, k)[:self.size] for k in self.FIELDS}
        out.update(replay_size=self.size, replay_ptr=self.ptr)
        return out

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state`; CheckpointError when it does not fit this buffer."""
        size, ptr = int(state["replay_size"]), int(state["replay_ptr"])
        if size > self.capacity or not 0 <= ptr < self.capacity:
            raise CheckpointError(f"replay state holds {size} rows (write position {ptr}); "
                                  f"the buffer's capacity is {self.capacity}")
        for k in self.FIELDS:
            rows = np.asarray(state[f"replay_{k}"])
            if len(rows) != size:
                raise CheckpointError(f"replay state '{k}' has {len(rows)} rows, expected {size}")
            getattr(self, k)[:size] = rows
        self.size, self.ptr = size, ptr


def dump_d4rl_npz(path: str, transitions: dict, metadata: dict) -> None:
    """Write D4RL-format arrays (observations, actions, rewards, next_observations,
    terminals, timeouts) plus a ``metadata`` JSON string to ``path`` (.npz).

    The last transition is marked as a timeout when its episode had not ended, so that
    splitting at ``terminals | timeouts`` yields whole (possibly cut) episodes.
    """
    t = {k: np.asarray(v) for k, v in transitions.items()}
    if len(t["terminals"]) and not (t["terminals"][-1] or t["timeouts"][-1]):
        t["timeouts"] = t["timeouts"].copy()
        t["timeouts"][-1] = True
    ckpt.save_arrays(path, {"metadata": np.array(json.dumps(metadata)), **t})
