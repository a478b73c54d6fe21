"""DiffusionQLTrainer: one episode = n_steps_per_episode compiled updates (a DQL "epoch").

Checkpoints (one folder per network): ``actor`` (the diffusion policy), ``ema_actor``
(its EMA, the critic-target actor), ``critic`` (twin Q), ``critic_target``, and ``bc_actor``
for eg_ood. The resume state holds the optimiser moments and steps and the update counter;
host state the index RNG and, in online fine-tuning, the collected transitions. The
diffusion noise is drawn in-graph by MindSpore's stateful random kernels, whose state cannot
be saved: a resumed run is the same process statistically, not bit for bit.

Online fine-tuning (``online_params.training_mode = online``): after ``num_epochs`` offline
episodes, each further episode first collects ``env_steps_per_episode`` transitions with
the current policy (the same action selection as evaluation) into the device buffer, then
trains on the union of offline and online data, uniformly.
"""
import os

import numpy as np

from mindspore_rl_ext.algorithms.diffusion_ql.selection import EarlyStopped
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.core.trainer import Trainer
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX
from mindspore_rl_ext.envs.gym_environment import make_env
from mindspore_rl_ext.envs.online_collector import COLUMNS, OnlineCollector

ONLINE_FILE = "online_buffer"


class DiffusionQLTrainer(Trainer):
    # names used by checkpoints written before the reward-transform registry
    LEGACY_FINGERPRINT_VALUES = {"reward_tune": {"no": "none", "antmaze": "dql_antmaze"}}

    def __init__(self, msrl, params, log, fingerprint=None, offline_episodes=None,
                 online_params=None):
        super().__init__(msrl, params, log)
        self._fingerprint = fingerprint or {}
        self.offline_episodes = offline_episodes
        self.online = dict(online_params or {"training_mode": "offline"})
        self.last_returns = None
        self.early_stopped = False
        buffer = msrl.replay_buffer
        if params.get("normalize_observations"):
            msrl.actor.set_observation_normalizer(buffer.obs_mean, buffer.obs_std)
        self._collector = None  # built on the first online episode
        self._restored_rows = None  # online rows of a resumed run, until then

    # ---- training
    def online_phase(self):
        return (self.online.get("training_mode") == "online" and self.offline_episodes is not None
                and self.episode >= self.offline_episodes)

    def collect(self, n_steps):
        """Run the current policy for n_steps env steps; append the transitions."""
        if self._collector is None:
            self._collector = OnlineCollector(make_env(self.msrl.collect_environment.name),
                                              self.msrl.collect_environment.seed + self.episode,
                                              self._restored_rows)
        arrays, returns = self._collector.collect(self.msrl.actor.get_action, n_steps)
        buf = self.msrl.replay_buffer
        obs = buf.normalize(arrays["obs"]) if self.params.get("normalize_observations") else arrays["obs"]
        nobs = (buf.normalize(arrays["next_obs"]) if self.params.get("normalize_observations")
                else arrays["next_obs"])
        size = self.msrl.learner.add_transitions(obs, arrays["act"], arrays["rew"], nobs,
                                                 arrays["not_done"])
        return size, returns

    def online_rows(self):
        """Every online transition so far ({column: array}), None if none."""
        return self._collector.arrays() if self._collector is not None else self._restored_rows

    def train_one_episode(self):
        if self.early_stopped:  # resumed from a run that had stopped early
            raise EarlyStopped(f"this run early-stopped at episode {self.episode} already")
        extra = {}
        if self.online_phase():
            size, returns = self.collect(self.online["env_steps_per_episode"])
            extra["buffer_size"] = float(size)
            if returns:
                extra["online_return"] = float(np.mean(returns))
        losses = self.msrl.learner.learn(self.params["n_steps_per_episode"])
        losses.update(extra)
        return losses

    def train(self, episodes, callbacks, resume=True):
        try:
            return super().train(episodes, callbacks, resume=resume)
        except EarlyStopped as e:
            self.early_stopped = True
            self.log.info(f"Early stop: {e}")
            self.save_checkpoint(self.episode)
            return None
        finally:
            if self._collector is not None:
                self._restored_rows = self._collector.arrays()
                self._collector.env.close()
                self._collector = None

    # ---- evaluation
    def evaluate(self):
        returns = np.asarray(self.msrl.actor.act(self.params["num_evaluate_episode"],
                                                 self.params["vectorized_eval"]), np.float64)
        self.last_returns = returns
        mean_return = float(np.mean(returns))
        return mean_return, self.msrl.replay_buffer.normalized_score(mean_return)

    def normalized_scores(self, returns):
        buf = self.msrl.replay_buffer
        scores = [buf.normalized_score(float(r)) for r in np.asarray(returns).ravel()]
        if any(s is None for s in scores):
            return np.asarray(returns, np.float64)  # no reference scores: raw returns
        return np.asarray(scores, np.float64)

    # ---- checkpoints
    def trainable_variables(self):
        return self.msrl.policy_and_network.networks()

    def resume_cell(self):
        return self.msrl.learner.loop, DATASET_PREFIX

    def host_state(self):
        return {"index_rng": self.msrl.learner.rng.bit_generator.state,
                "buffer_size": int(self.msrl.learner.size),
                "early_stopped": bool(self.early_stopped)}

    def load_host_state(self, state):
        self.msrl.learner.rng.bit_generator.state = state["index_rng"]
        self.early_stopped = bool(state.get("early_stopped", False))

    def save_checkpoint(self, episode):
        super().save_checkpoint(episode)
        rows = self.online_rows()
        if rows is not None:
            folder = os.path.join(self.ckpt_root, ONLINE_FILE)
            ckpt.save_arrays(os.path.join(folder, f"{ONLINE_FILE}_{episode}.npz"), rows)
            kept = set(ckpt.complete_steps(self.ckpt_root, self._network_names()))
            for name in os.listdir(folder):  # follow the checkpoints' retention
                stem = name[len(ONLINE_FILE) + 1:-len(".npz")]
                if name.endswith(".npz") and stem.isdigit() and int(stem) not in kept:
                    os.remove(os.path.join(folder, name))

    def restore(self):
        episode = super().restore()
        path = os.path.join(self.ckpt_root, ONLINE_FILE, f"{ONLINE_FILE}_{episode}.npz")
        if episode and os.path.isfile(path):
            with read_errors_as(CheckpointError, f"online transitions file '{path}' is "
                                                 f"truncated or corrupt"), np.load(path) as data:
                arrays = {k: data[k] for k in COLUMNS}
            buf = self.msrl.replay_buffer
            norm = self.params.get("normalize_observations")
            self.msrl.learner.add_transitions(
                buf.normalize(arrays["obs"]) if norm else arrays["obs"], arrays["act"],
                arrays["rew"], buf.normalize(arrays["next_obs"]) if norm else arrays["next_obs"],
                arrays["not_done"])
            self._restored_rows = arrays
            self.log.info(f"Restored {len(arrays['rew'])} online transitions from {path}")
        return episode

    def fingerprint(self):
        return self._fingerprint

    def network_extras(self, name):
        if name != "actor":
            return {}
        buf = self.msrl.replay_buffer
        return {"obs_norm_mean": buf.obs_mean, "obs_norm_std": buf.obs_std}

    def load_network_extras(self, name, values):
        if name == "actor" and "obs_norm_mean" in values and self.params.get("normalize_observations"):
            self.msrl.actor.set_observation_normalizer(values["obs_norm_mean"], values["obs_norm_std"])
