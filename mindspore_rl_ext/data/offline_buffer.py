"""The offline replay buffer: a loaded dataset, transformed for training, plus the host
RNG that draws batch indices (uniform, with replacement, as the IQL reference)."""
import os

import numpy as np

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.data.transforms import (clip_actions, observation_stats,
                                              transform_rewards)


class OfflineReplayBuffer:
    """``params``: dataset (a Minari id, an .hdf5 path, 'default', or a TransitionDataset),
    dataset_root, env_id, reward_transform, action_clip, normalize_observations,
    batch_size."""

    def __init__(self, params):
        from mindspore_rl_ext.data.transitions import TransitionDataset

        ds = params["dataset"]
        if not isinstance(ds, TransitionDataset):
            from mindspore_rl_ext.data import load_dataset

            root = params.get("dataset_root")
            ds = load_dataset(os.path.expanduser(ds),
                              dataset_root=os.path.expanduser(root) if root else None,
                              env_id=params.get("env_id"))
        self.dataset = ds
        self.env_id = ds.env_id
        self.batch_size = int(params["batch_size"])
        if self.batch_size > len(ds):
            raise ConfigError(
                f"replay_buffer.batch_size {self.batch_size} is larger than the dataset "
                f"'{ds.source}' ({len(ds)} transitions)"
            )
        self.rewards = transform_rewards(ds.rewards, ds.episode_returns(),
                                         params["reward_transform"])
        self.actions = clip_actions(ds.actions, params.get("action_clip"))
        obs, next_obs = ds.observations, ds.next_observations
        if params.get("normalize_observations"):
            self.obs_mean, self.obs_std = observation_stats(obs)
        else:
            self.obs_mean = np.zeros(obs.shape[1], np.float32)
            self.obs_std = np.ones(obs.shape[1], np.float32)
        self.observations = self.normalize(obs)
        self.next_observations = self.normalize(next_obs)
        self.terminals = ds.terminals.astype(np.float32)
        self.state_dim, self.action_dim = obs.shape[1], ds.actions.shape[1]

    def __len__(self):
        return len(self.rewards)

    def normalize(self, observations):
        return ((observations - self.obs_mean) / self.obs_std).astype(np.float32)

    def normalized_score(self, returns):
        """D4RL-convention score x100, or None when the dataset has no reference scores."""
        if self.dataset.ref_min_score is None or self.dataset.ref_max_score is None:
            return None
        return float(self.dataset.normalized_score(returns))

    def sample_indices(self, rng, num_steps):
        """(num_steps, batch_size) int32 indices drawn with ``rng`` (a numpy Generator)."""
        return rng.integers(0, len(self), (num_steps, self.batch_size), dtype=np.int32)
