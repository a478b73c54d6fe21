"""Diffusion-QL's runtime roles (MindSpore Reinforcement's shape): the replay buffer,
PolicyAndNetwork, Learner and Actor. The networks are in ``networks.py``, the update and
its losses in ``update.py``, action selection in ``acting.py``."""
import numpy as np
from mindspore import Tensor

from mindspore_rl_ext.algorithms.diffusion_ql.acting import DiffusionActionSelector
from mindspore_rl_ext.algorithms.diffusion_ql.networks import DiffusionNetworks
from mindspore_rl_ext.algorithms.diffusion_ql.update import (DIAG_ROWS, DiffusionQLTrainLoop,
                                                          DiffusionQLUpdate, PolicyDiagnostics)
from mindspore_rl_ext.core.agents import Actor, Learner


class DiffusionReplayBuffer:
    """The offline dataset with its rewards transformed by ``params["reward_tune"]``, a name
    of the reward-transform registry shared with IQL (data.transforms); see
    data.offline_buffer.OfflineReplayBuffer."""

    def __init__(self, params):
        from mindspore_rl_ext.data.offline_buffer import OfflineReplayBuffer

        base = OfflineReplayBuffer(dict(params, reward_transform=params["reward_tune"]))
        self.base = base
        self.dataset = base.dataset
        self.env_id = base.env_id
        self.batch_size = base.batch_size
        self.observations, self.next_observations = base.observations, base.next_observations
        self.actions = base.actions
        self.terminals = base.terminals
        self.rewards = base.rewards
        self.obs_mean, self.obs_std = base.obs_mean, base.obs_std
        self.state_dim, self.action_dim = base.state_dim, base.action_dim

    def __len__(self):
        return len(self.rewards)

    def arrays(self):
        return {"observations": self.observations, "actions": self.actions,
                "rewards": self.rewards, "next_observations": self.next_observations,
                "terminals": self.terminals}

    def normalize(self, observations):
        return self.base.normalize(observations)

    def normalized_score(self, returns):
        return self.base.normalized_score(returns)


class BanditToyReplayBuffer(DiffusionReplayBuffer):
    """The 2-D bandit toy's generated dataset (``envs.bandit_toy.toy_transitions``):
    DiffusionReplayBuffer's params with ``dataset`` a toy name, ``toy_dataset_size`` and
    ``seed``."""

    def __init__(self, params):
        from mindspore_rl_ext.envs.bandit_toy import toy_transitions

        data = toy_transitions(params["dataset"], params["toy_dataset_size"], params["seed"])
        super().__init__(dict(params, dataset=data))


class DiffusionQLPolicyAndNetwork:
    """``params``: T, beta_schedule, hidden_dim, critic_hidden_dim, max_action, algo."""

    def __init__(self, params, replay_buffer):
        self.nets = DiffusionNetworks(
            replay_buffer.state_dim, replay_buffer.action_dim, params["max_action"],
            params["algo"], params["T"], params["beta_schedule"], params["hidden_dim"],
            params["critic_hidden_dim"])

    def networks(self):
        return self.nets.networks()


class DiffusionQLLearner(Learner):
    """Owns the compiled update loop and the host RNG of batch indices.

    ``params``: DiffusionQLUpdate's keyword arguments plus ``seed`` and ``online_capacity``
    (rows reserved in the device buffer for online fine-tuning)."""

    def __init__(self, params, policy_and_network, replay_buffer):
        super().__init__(params, policy_and_network, replay_buffer)
        kwargs = {k: v for k, v in params.items() if k not in ("seed", "online_capacity")}
        self.update = DiffusionQLUpdate(policy_and_network.nets, **kwargs)
        self.update.set_train(True)
        self.loop = DiffusionQLTrainLoop(self.update, replay_buffer.arrays(),
                                         len(replay_buffer) + int(params.get("online_capacity", 0)))
        self.diagnostics = PolicyDiagnostics(self.loop)
        self.batch_size = replay_buffer.batch_size
        self.rng = np.random.default_rng(params["seed"])

    @property
    def size(self):
        """Rows in the device dataset: the offline data plus online rows added so far."""
        return self.loop.dataset.size

    def learn(self, num_steps):
        """``num_steps`` updates; returns their mean metrics and the policy diagnostics after
        them (on the first DIAG_ROWS rows of the last batch)."""
        idx = self.rng.integers(0, self.size, (int(num_steps), self.batch_size), dtype=np.int32)
        metrics = self.loop.train_steps(idx)
        metrics.update(self.diagnostics.measure(idx[-1, :DIAG_ROWS]))
        return metrics

    def add_transitions(self, obs, act, rew, next_obs, not_done):
        """Append rows (online fine-tuning) to the device dataset; returns the new size."""
        return self.loop.dataset.append({
            "observations": obs, "actions": act, "rewards": rew,
            "next_observations": next_obs, "not_done": not_done})


class DiffusionQLActor(Actor):
    """Evaluation / data collection with the compiled action selector.

    ``params``: eval_num_samples, eval_selection, algo, normalize_observations."""

    def __init__(self, params, policy_and_network, environment):
        super().__init__(params, policy_and_network, environment)
        nets = policy_and_network.nets
        critic = None if params["algo"] == "bc" else nets.critic_target
        self.selector = DiffusionActionSelector(nets.actor, critic, params["eval_num_samples"],
                                                params["eval_selection"])
        self.obs_mean = self.obs_std = None

    def set_observation_normalizer(self, mean, std):
        self.obs_mean = np.asarray(mean, np.float32)
        self.obs_std = np.asarray(std, np.float32)

    def get_action(self, observations):
        obs = np.asarray(observations, np.float32)
        if self.obs_mean is not None:
            obs = (obs - self.obs_mean) / self.obs_std
        return self.selector(Tensor(obs)).asnumpy()

    def act(self, num_episodes, vectorized=True):
        return self.environment.run_episodes(self.get_action, num_episodes, vectorized)
