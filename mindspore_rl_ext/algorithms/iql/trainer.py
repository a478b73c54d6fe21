"""IQLTrainer: one episode = n_steps_per_episode compiled gradient steps."""
import numpy as np

from mindspore_rl_ext.core.trainer import Trainer
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX


class IQLTrainer(Trainer):
    """Checkpoints ``policy`` (actor), ``value_net_1`` (Q1), ``value_net_2`` (Q2) and
    ``value_model`` (V), as MindSpore Reinforcement names them; the resume state holds the
    target critics, Adam moments and steps, and the index RNG."""

    # names used by checkpoints written before the reward-transform registry
    LEGACY_FINGERPRINT_VALUES = {"reward_transform": {"mujoco": "iql_locomotion",
                                                      "antmaze": "iql_antmaze"}}
    POLICY_NETWORK = "policy"  # the network whose file carries the observation normaliser

    def __init__(self, msrl, params, log, fingerprint=None):
        super().__init__(msrl, params, log)
        self._fingerprint = fingerprint or {}
        buffer = msrl.replay_buffer
        msrl.actor.set_observation_normalizer(buffer.obs_mean, buffer.obs_std)

    def train_one_episode(self):
        return self.msrl.learner.learn(self.params["n_steps_per_episode"])

    def evaluate(self):
        returns = self.msrl.actor.act(self.params["num_evaluate_episode"],
                                      self.params["vectorized_eval"])
        mean_return = float(np.mean(returns))
        return mean_return, self.msrl.replay_buffer.normalized_score(mean_return)

    def trainable_variables(self):
        nets = self.msrl.policy_and_network
        return {"policy": nets.actor_net, "value_net_1": nets.critic_net1,
                "value_net_2": nets.critic_net2, "value_model": nets.value_net}

    def resume_cell(self):
        return self.msrl.learner.update, DATASET_PREFIX

    def host_state(self):
        return {"index_rng": self.msrl.learner.rng.bit_generator.state}

    def load_host_state(self, state):
        self.msrl.learner.rng.bit_generator.state = state["index_rng"]

    def fingerprint(self):
        return self._fingerprint

    def network_extras(self, name):
        if name != self.POLICY_NETWORK:
            return {}
        buffer = self.msrl.replay_buffer
        return {"obs_norm_mean": buffer.obs_mean, "obs_norm_std": buffer.obs_std}

    def load_network_extras(self, name, values):
        if name == self.POLICY_NETWORK and "obs_norm_mean" in values:
            self.msrl.actor.set_observation_normalizer(values["obs_norm_mean"], values["obs_norm_std"])
