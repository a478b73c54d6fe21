"""Soft Actor-Critic (Haarnoja et al. 2018, with automatic entropy tuning) in MindSpore.

Pieces, MindSpore-Reinforcement style:

* :class:`SACPolicy` -- tanh-squashed Gaussian policy: a ReLU trunk, a mean head and a
  state-dependent log-std head (clipped to [log_std_min, log_std_max], default [-20, 2]).
  ``construct(obs)`` is the deterministic action ``tanh(mean)``; ``sample(obs, noise)``
  the reparameterised action and its log-probability for given standard-normal noise.
* :class:`SACPolicyAndNetwork` -- the policy, twin Q networks and their targets.
* :class:`SACUpdate` -- one full SAC update (critic, actor, alpha, Polyak) in ``step``;
  the core compiled loop runs ``n`` of them per call on batches gathered from a
  device-resident copy of the replay buffer (rows written as they are collected).
* :class:`SACLearner` / :class:`SACActor` -- the runtime roles (``core.agents``): the
  learner owns the update and its device replay; the actor acts with a NumPy copy of the
  policy (:class:`NumpySACPolicy`, also the shipped behaviour-policy format).

Random numbers: the Gaussian noise is drawn on the host (NumPy) and passed in, so a run
is reproducible from its seed and the compiled graph holds no random op.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, ParameterTuple, Tensor, nn, ops

from mindspore_rl_ext.core.agents import Actor, Learner
from mindspore_rl_ext.core.device_dataset import WritableDeviceDataset
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import copy_weights, polyak
from mindspore_rl_ext.nets.critics import QNetwork
from mindspore_rl_ext.nets.mlp import MLP, dense

LOG_2PI = math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)


class SACPolicy(nn.Cell):
    """a = tanh(mean(s) + exp(clip(log_std(s))) * eps), eps ~ N(0, I)."""

    def __init__(self, obs_dim, act_dim, hidden_dims=(256, 256), log_std_min=-20.0,
                 log_std_max=2.0):
        super().__init__()
        self.trunk = MLP(obs_dim, hidden_dims[:-1], hidden_dims[-1], activate_final=True)
        # Small-gain heads: the initial policy is ~N(0, 1) before tanh, whatever the trunk.
        self.mean_head = dense(hidden_dims[-1], act_dim, gain=0.01)
        self.log_std_head = dense(hidden_dims[-1], act_dim, gain=0.01)
        self.log_std_min = float(log_std_min)
        self.log_std_max = float(log_std_max)

    def dist_params(self, obs):
        """(pre-tanh mean, clipped log std), each (batch, act_dim)."""
        h = self.trunk(obs)
        log_std = ops.clamp(self.log_std_head(h), self.log_std_min, self.log_std_max)
        return self.mean_head(h), log_std

    def construct(self, obs):
        """Deterministic action tanh(mean), in [-1, 1]."""
        mean, _ = self.dist_params(obs)
        return ops.tanh(mean)

    def sample(self, obs, noise):
        """Reparameterised (action, log pi(action|obs)) for standard-normal ``noise``."""
        mean, log_std = self.dist_params(obs)
        u = mean + ops.exp(log_std) * noise
        gauss = (-0.5 * noise * noise - log_std - 0.5 * LOG_2PI).sum(-1)
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
        squash = (2.0 * (LOG_2 - u - ops.softplus(-2.0 * u))).sum(-1)
        return ops.tanh(u), gauss - squash


class SACPolicyAndNetwork:
    """Policy, twin Q networks and their (non-trainable) target copies. ``params``:
    hidden_dims, log_std_min, log_std_max; dims from ``replay_buffer`` (state_dim,
    action_dim)."""

    def __init__(self, params, replay_buffer):
        obs_dim, act_dim = replay_buffer.state_dim, replay_buffer.action_dim
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        hidden_dims = self.hidden_dims = tuple(int(h) for h in params["hidden_dims"])
        self.policy = SACPolicy(obs_dim, act_dim, hidden_dims, params["log_std_min"],
                                params["log_std_max"])
        self.q1 = QNetwork(obs_dim, act_dim, hidden_dims)
        self.q2 = QNetwork(obs_dim, act_dim, hidden_dims)
        self.q1_target = QNetwork(obs_dim, act_dim, hidden_dims)
        self.q2_target = QNetwork(obs_dim, act_dim, hidden_dims)
        copy_weights(self.q1, self.q1_target, freeze=True)
        copy_weights(self.q2, self.q2_target, freeze=True)


def replay_columns(obs_dim, act_dim, rows=0):
    """Empty (``rows`` zero rows) replay columns in the device dataset's order:
    observations, actions, rewards, next_observations, terminals (float32)."""
    z = lambda *shape: np.zeros((rows,) + shape, np.float32)  # noqa: E731
    return {"observations": z(obs_dim), "actions": z(act_dim), "rewards": z(),
            "next_observations": z(obs_dim), "terminals": z()}


class SACUpdate(CompiledTraining):
    """One SAC update per batch (``step``); the core loop runs n of them per call.

    Update order per batch: critic (targets from the current policy and alpha), actor
    (against the just-updated critics), alpha (from the actor's log-probs), then Polyak
    averaging of the target critics. Losses: critic 0.5*(MSE1 + MSE2); actor
    mean(alpha*logp - min(Q1, Q2)); alpha -mean(log_alpha * (logp + target_entropy)).
    Batches come from ``dataset``, a device copy of the replay buffer with ``capacity``
    rows; the Gaussian noise of each step comes from the host as the loop's extras.
    """

    METRICS = ("critic_loss", "actor_loss", "alpha_loss", "entropy")

    def __init__(self, networks, capacity, gamma=0.99, tau=0.005, actor_lr=3e-4,
                 critic_lr=3e-4, alpha_lr=3e-4, init_alpha=1.0, target_entropy=None):
        super().__init__(WritableDeviceDataset(replay_columns(networks.obs_dim, networks.act_dim),
                                               int(capacity)))
        self.networks = networks
        self.policy = networks.policy
        self.q1, self.q2 = networks.q1, networks.q2
        self.q1_target, self.q2_target = networks.q1_target, networks.q2_target
        self.gamma = float(gamma)
        self.tau = float(tau)
        if target_entropy is None:
            target_entropy = -float(networks.act_dim)
        self.target_entropy = float(target_entropy)
        self.log_alpha = Parameter(Tensor(np.array([math.log(init_alpha)], np.float32)),
                                   name="log_alpha")

        critic_params = self.q1.trainable_params() + self.q2.trainable_params()
        self.critic_opt = nn.Adam(critic_params, learning_rate=critic_lr)
        self.actor_opt = nn.Adam(self.policy.trainable_params(), learning_rate=actor_lr)
        self.alpha_opt = nn.Adam([self.log_alpha], learning_rate=alpha_lr)
        self.critic_grad = ms.value_and_grad(self.critic_loss, None, self.critic_opt.parameters)
        self.actor_grad = ms.value_and_grad(self.actor_loss, None, self.actor_opt.parameters,
                                            has_aux=True)
        self.alpha_grad = ms.value_and_grad(self.alpha_loss, None, self.alpha_opt.parameters)
        self.online_params = ParameterTuple(
            list(self.q1.get_parameters()) + list(self.q2.get_parameters()))
        self.target_params = ParameterTuple(
            list(self.q1_target.get_parameters()) + list(self.q2_target.get_parameters()))

    def alpha(self):
        return ops.stop_gradient(ops.exp(self.log_alpha))[0]

    def alpha_value(self):
        """The current alpha as a float (host read)."""
        return float(np.exp(self.log_alpha.asnumpy()[0]))

    def critic_loss(self, obs, act, rew, next_obs, done, noise_next):
        next_act, next_logp = self.policy.sample(next_obs, noise_next)
        next_q = ops.minimum(self.q1_target(next_obs, next_act),
                             self.q2_target(next_obs, next_act))
        target = rew + self.gamma * (1.0 - done) * (next_q - self.alpha() * next_logp)
        target = ops.stop_gradient(target)
        q1 = self.q1(obs, act)
        q2 = self.q2(obs, act)
        return 0.5 * (((q1 - target) ** 2).mean() + ((q2 - target) ** 2).mean())

    def actor_loss(self, obs, noise):
        act, logp = self.policy.sample(obs, noise)
        q = ops.minimum(self.q1(obs, act), self.q2(obs, act))
        return (self.alpha() * logp - q).mean(), logp

    def alpha_loss(self, logp):
        return -(self.log_alpha[0] * ops.stop_gradient(logp + self.target_entropy)).mean()

    def step(self, obs, act, rew, next_obs, done, noise_next, noise_pi):
        """One update on one batch; returns (critic_loss, actor_loss, alpha_loss, entropy)."""
        critic_loss, critic_grads = self.critic_grad(obs, act, rew, next_obs, done, noise_next)
        self.critic_opt(critic_grads)
        (actor_loss, logp), actor_grads = self.actor_grad(obs, noise_pi)
        self.actor_opt(actor_grads)
        alpha_loss, alpha_grads = self.alpha_grad(logp)
        self.alpha_opt(alpha_grads)
        polyak(self.target_params, self.online_params, self.tau)
        return critic_loss, actor_loss, alpha_loss, -logp.mean()


class SACLearner(Learner):
    """Owns the compiled update and its device copy of the replay buffer. ``params``: the
    update's hyper-parameters (gamma, tau, the learning rates, init_alpha,
    target_entropy)."""

    def __init__(self, params, policy_and_network, replay_buffer):
        super().__init__(params, policy_and_network, replay_buffer)
        self.update = SACUpdate(policy_and_network, replay_buffer.capacity, **params)
        self.update.set_train(True)

    def write_rows(self, rows):
        """Copy the replay buffer's ``rows`` (slot indices) to the device copy."""
        self.update.dataset.write_rows(rows, self.replay_buffer.device_rows(rows))

    def learn(self, indices, noise):
        """One compiled call: a step per row of ``indices`` (n, batch), with Gaussian
        ``noise`` (2, n, batch, act_dim) for the next-state and the policy samples.
        Returns the mean {critic_loss, actor_loss, alpha_loss, entropy} and alpha."""
        stats = self.update.train_steps(indices, extras=(noise[0], noise[1]))
        stats["alpha"] = self.update.alpha_value()
        return stats


class SACActor(Actor):
    """Acts with a NumPy copy of the policy (:meth:`refresh` after each update); ``act``
    runs evaluation episodes in its environment. ``params``: log_std_min/max."""

    def __init__(self, params, policy_and_network, environment):
        super().__init__(params, policy_and_network, environment)
        self.policy = NumpySACPolicy(policy_weights(policy_and_network.policy),
                                     params["log_std_min"], params["log_std_max"])

    def refresh(self):
        self.policy.set_weights(policy_weights(self.policy_and_network.policy))

    def get_action(self, observations, deterministic=True, rng=None):
        return self.policy(observations, deterministic=deterministic, rng=rng)

    def act(self, num_episodes, deterministic=True, seed=0):
        """(returns, lengths) of ``num_episodes`` episodes (see :func:`evaluate_policy`)."""
        return evaluate_policy(self.policy, self.environment, num_episodes, deterministic, seed)


# ---------------------------------------------------------------------------------------
# NumPy side: weight export and a forward pass without MindSpore
# ---------------------------------------------------------------------------------------
POLICY_KEYS = ("mean_w", "mean_b", "log_std_w", "log_std_b")


def policy_weights(policy):
    """NumPy weights of a SACPolicy, each w shaped (in, out) so that y = x @ w + b.

    Keys: trunk_w{i}, trunk_b{i} (ReLU after every trunk layer), mean_w, mean_b,
    log_std_w, log_std_b.
    """
    out = {}
    for i, layer in enumerate(policy.trunk.layers):
        out[f"trunk_w{i}"] = layer.weight.asnumpy().T.astype(np.float32)
        out[f"trunk_b{i}"] = layer.bias.asnumpy().astype(np.float32)
    out["mean_w"] = policy.mean_head.weight.asnumpy().T.astype(np.float32)
    out["mean_b"] = policy.mean_head.bias.asnumpy().astype(np.float32)
    out["log_std_w"] = policy.log_std_head.weight.asnumpy().T.astype(np.float32)
    out["log_std_b"] = policy.log_std_head.bias.asnumpy().astype(np.float32)
    return out


class NumpySACPolicy:
    """The SAC policy as a NumPy forward pass (weights from :func:`policy_weights`)."""

    def __init__(self, weights, log_std_min=-20.0, log_std_max=2.0):
        self.set_weights(weights)
        self.log_std_min = float(log_std_min)
        self.log_std_max = float(log_std_max)

    def set_weights(self, weights):
        n = sum(1 for k in weights if k.startswith("trunk_w"))
        self.trunk = [(np.asarray(weights[f"trunk_w{i}"], np.float32),
                       np.asarray(weights[f"trunk_b{i}"], np.float32)) for i in range(n)]
        self.mean = (np.asarray(weights["mean_w"], np.float32),
                     np.asarray(weights["mean_b"], np.float32))
        self.log_std = (np.asarray(weights["log_std_w"], np.float32),
                        np.asarray(weights["log_std_b"], np.float32))

    @property
    def obs_dim(self):
        return self.trunk[0][0].shape[0]

    @property
    def act_dim(self):
        return self.mean[0].shape[1]

    def dist_params(self, obs):
        h = np.asarray(obs, np.float32)
        for w, b in self.trunk:
            h = np.maximum(h @ w + b, 0.0)
        mean = h @ self.mean[0] + self.mean[1]
        log_std = np.clip(h @ self.log_std[0] + self.log_std[1], self.log_std_min,
                          self.log_std_max)
        return mean, log_std

    def __call__(self, obs, deterministic=True, rng=None):
        """Action(s) in [-1, 1] for obs of shape (obs_dim,) or (batch, obs_dim)."""
        mean, log_std = self.dist_params(obs)
        if deterministic:
            return np.tanh(mean)
        if rng is None:
            rng = np.random.default_rng()
        noise = rng.standard_normal(mean.shape).astype(np.float32)
        return np.tanh(mean + np.exp(log_std) * noise)


def evaluate_policy(policy, env, episodes, deterministic=True, seed=0):
    """Returns and lengths of ``episodes`` episodes of ``policy`` (a NumpySACPolicy) in
    ``env`` (an envs.online.OnlineEnvironment); episode i starts from reset(seed=seed *
    1000 + i), the stochastic actions' noise comes from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    returns, lengths = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=int(seed) * 1000 + ep)
        total, n, done = 0.0, 0, False
        while not done:
            act = policy(obs, deterministic=deterministic, rng=rng)
            obs, rew, term, trunc, _ = env.step(act)
            total += float(rew)
            n += 1
            done = term or trunc
        returns.append(total)
        lengths.append(n)
    return np.array(returns), np.array(lengths)
