"""Implicit Q-Learning (Kostrikov et al., 2021), faithful to the authors' JAX code.

One gradient step on one batch, in this order (``IQLUpdate.step``):

1. V:  L_V = mean(|tau - 1(u < 0)| u^2), u = min(Q1', Q2')(s, a) - V(s)   (targets Q')
2. actor: w = min(exp(beta (min Q'(s, a) - V_new(s))), 100);
   L_pi = -mean(w log pi(a|s)), log-prob summed over action dims
3. critics: y = r + gamma (1 - terminal) V_new(s');  L_Q = mean((Q1 - y)^2 + (Q2 - y)^2)
4. Polyak: Q' <- (1 - tau_target) Q' + tau_target Q

The actor learning rate follows a cosine decay to 0 over the planned steps. Targets start
as copies of the critics. ``IQLUpdate`` runs ``n_steps_per_episode`` such steps in one
compiled call (the core loop, :class:`~mindspore_rl_ext.core.training_loop.CompiledTraining`),
gathering batches from the device-resident dataset by host-drawn indices.

Deviations from MindSpore Reinforcement's IQL (all fixed here, see README): it used
quantile 0.8 / temperature 0.1, per-dimension log-probs, no exp clip, no cosine
schedule, weight decay 1e-4, random (not copied) targets, 4x256 nets and batch 1024.
"""
import mindspore as ms
import numpy as np
from mindspore import ParameterTuple, nn, ops

from mindspore_rl_ext.core.agents import Actor, Learner
from mindspore_rl_ext.core.device_dataset import DeviceDataset
from mindspore_rl_ext.core.flat_optim import AdamClock, FlatAdam, param_store
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import WeightCopy, copy_weights
from mindspore_rl_ext.nets.critics import QNetwork, ValueNetwork
from mindspore_rl_ext.nets.policies import GaussianPolicy, NumpyTanhMean


def expectile_loss(diff, expectile):
    """mean(|expectile - 1(diff < 0)| * diff^2)."""
    weight = ops.where(diff > 0, expectile, 1.0 - expectile)
    return (weight * diff * diff).mean()


def awr_weights(target_q, value, temperature, exp_adv_max):
    """min(exp(temperature * (Q - V)), exp_adv_max)."""
    return ops.minimum(ops.exp((target_q - value) * temperature), exp_adv_max)


def twin_critic_loss(q1, q2, target):
    """mean((Q1 - y)^2 + (Q2 - y)^2): the sum of the two MSEs, as the JAX reference."""
    return ((q1 - target) ** 2 + (q2 - target) ** 2).mean()


class IQLPolicyAndNetwork:
    """The networks: actor, twin critics, their targets (copies), V, and an eval policy
    (the actor's architecture without dropout; weights copied in before evaluation)."""

    def __init__(self, params, replay_buffer):
        obs_dim, act_dim = replay_buffer.state_dim, replay_buffer.action_dim
        hidden = tuple(params["hidden_sizes"])
        std_range = dict(log_std_min=params["log_std_min"], log_std_max=params["log_std_max"])
        self.actor_net = GaussianPolicy(obs_dim, act_dim, hidden, params["dropout_rate"], **std_range)
        self.eval_policy = GaussianPolicy(obs_dim, act_dim, hidden, None, **std_range)
        self.critic_net1 = QNetwork(obs_dim, act_dim, hidden)
        self.critic_net2 = QNetwork(obs_dim, act_dim, hidden)
        self.target_critic_net1 = QNetwork(obs_dim, act_dim, hidden)
        self.target_critic_net2 = QNetwork(obs_dim, act_dim, hidden)
        self.value_net = ValueNetwork(obs_dim, hidden)
        copy_weights(self.critic_net1, self.target_critic_net1)
        copy_weights(self.critic_net2, self.target_critic_net2)
        self.eval_policy.set_train(False)


class IQLUpdate(CompiledTraining):
    """``step(batch)``: one IQL step; the core loop runs n of them per call and returns
    the mean (critic_loss, actor_loss, value_loss).

    ``params["fused_optimizer"]``: True: each optimiser (V; actor; both critics) updates
    one flat buffer with one Adam kernel, Polyak runs over the flat target buffer and the
    step count / beta powers advance once per update (:mod:`mindspore_rl_ext.core.flat_optim`);
    False (default): ``nn.Adam`` per parameter. Same maths, same checkpoint entries.

    ``params["behaviour_cloning"]``: True: each step is the actor's maximum-likelihood
    update only (weight 1 per transition, as temperature 0 gives), with no value, critic
    or Polyak work: the policy IQL with temperature 0 learns, at a quarter to a fifth of
    the cost. The critic and value losses are then reported as 0 (not trained)."""

    METRICS = ("critic_loss", "actor_loss", "value_loss")

    def __init__(self, nets, dataset_arrays, params, max_steps):
        super().__init__(DeviceDataset(dataset_arrays))
        self.policy = nets.actor_net
        self.q1, self.q2 = nets.critic_net1, nets.critic_net2
        self.target_q1, self.target_q2 = nets.target_critic_net1, nets.target_critic_net2
        self.value = nets.value_net
        self.gamma = params["gamma"]
        self.expectile = params["expectile"]
        self.temperature = params["temperature"]
        self.exp_adv_max = params["exp_adv_max"]
        self.tau = params["update_factor"]
        self.fused = bool(params.get("fused_optimizer", False))
        self.behaviour_cloning = bool(params.get("behaviour_cloning", False))
        self.not_trained = ms.Tensor(0.0, ms.float32)
        actor_lr = params["actor_lr"]
        if params["actor_lr_schedule"] == "cosine":
            actor_lr = nn.CosineDecayLR(0.0, params["actor_lr"], max(1, int(max_steps)))
        self.value_opt = FlatAdam(self.value.weight_list(), params["value_lr"], self.fused)
        self.actor_opt = FlatAdam(self.policy.weight_list(), actor_lr, self.fused)
        self.critic_opt = FlatAdam(self.q1.weight_list() + self.q2.weight_list(),
                                   params["critic_lr"], self.fused)
        self.clock = AdamClock([self.value_opt, self.actor_opt, self.critic_opt])
        self.n_q = len(self.q1.weight_list())
        self.value_grad = ms.value_and_grad(self.value_loss, None, self.value_opt.weights.grad_params)
        self.actor_grad = ms.value_and_grad(self.actor_loss, None, self.actor_opt.weights.grad_params)
        self.critic_grad = ms.value_and_grad(self.critic_loss, None, self.critic_opt.weights.grad_params)
        # the names these register are the critics' and targets' entries in resume files
        self.sources = ParameterTuple([*self.q1.get_parameters(), *self.q2.get_parameters()])
        self.targets = ParameterTuple([*self.target_q1.get_parameters(),
                                       *self.target_q2.get_parameters()])
        self.target_store = param_store(self.target_q1.weight_list() + self.target_q2.weight_list(),
                                        self.fused)

    # forward passes with the weights of the current store (flat views when fused)
    def v(self, obs):
        return self.value.forward(self.value_opt.weights.read(), obs)

    def twin_q(self, store, obs, act):
        w = store.read()
        return self.q1.forward(w[:self.n_q], obs, act), self.q2.forward(w[self.n_q:], obs, act)

    def value_loss(self, obs, target_q):
        return expectile_loss(target_q - self.v(obs), self.expectile)

    def actor_loss(self, obs, act, weights):
        return -(weights * self.policy.log_prob_with(self.actor_opt.weights.read(), obs, act)).mean()

    def critic_loss(self, obs, act, target):
        q1, q2 = self.twin_q(self.critic_opt.weights, obs, act)
        return twin_critic_loss(q1, q2, target)

    def target_q(self, obs, act):
        q1, q2 = self.twin_q(self.target_store, obs, act)
        return ops.minimum(q1, q2)

    def tick(self):
        """The shared Adam clock of this update (fused), or None (nn.Adam keeps its own)."""
        return self.clock.advance() if self.fused else None

    def value_step(self, obs, act, clock):
        loss, grads = self.value_grad(obs, self.target_q(obs, act))
        self.value_opt.apply(grads, clock)
        return loss

    def actor_step(self, obs, act, clock):
        weights = awr_weights(self.target_q(obs, act), self.v(obs),
                              self.temperature, self.exp_adv_max)
        loss, grads = self.actor_grad(obs, act, weights)
        self.actor_opt.apply(grads, clock)
        return loss

    def critic_step(self, obs, act, rew, next_obs, term, clock):
        target = rew + self.gamma * (1.0 - term) * self.v(next_obs)
        loss, grads = self.critic_grad(obs, act, target)
        self.critic_opt.apply(grads, clock)
        return loss

    def bc_step(self, obs, act, clock):
        loss, grads = self.actor_grad(obs, act, ops.ones_like(act[:, 0]))
        self.actor_opt.apply(grads, clock)
        return loss

    def step(self, obs, act, rew, next_obs, term):
        clock = self.tick()
        if self.behaviour_cloning:
            return self.not_trained, self.bc_step(obs, act, clock), self.not_trained
        value_loss = self.value_step(obs, act, clock)
        actor_loss = self.actor_step(obs, act, clock)
        critic_loss = self.critic_step(obs, act, rew, next_obs, term, clock)
        self.soft_update()
        return critic_loss, actor_loss, value_loss

    def soft_update(self):
        return self.critic_opt.weights.polyak_to(self.target_store, self.tau)

    def pack(self):
        for part in (self.value_opt, self.actor_opt, self.critic_opt, self.target_store):
            part.pack()
        return True

    def unpack(self):
        for part in (self.value_opt, self.actor_opt, self.critic_opt, self.target_store, self.clock):
            part.unpack()
        return True


class PolicyStd(nn.Cell):
    """Mean standard deviation of the Gaussian policy (its state-independent log-std)."""

    def __init__(self, policy):
        super().__init__(auto_prefix=False)  # leave the policy's parameter names alone
        self.policy = policy

    def construct(self):
        return ops.exp(self.policy.clipped_log_std()).mean()


class IQLLearner(Learner):
    """Owns the compiled update and the host RNG that draws batch indices."""

    def __init__(self, params, policy_and_network, replay_buffer):
        super().__init__(params, policy_and_network, replay_buffer)
        arrays = {"observations": replay_buffer.observations, "actions": replay_buffer.actions,
                  "rewards": replay_buffer.rewards,
                  "next_observations": replay_buffer.next_observations,
                  "terminals": replay_buffer.terminals}
        self.update = IQLUpdate(policy_and_network, arrays, params, params["max_steps"])
        self.update.set_train(True)
        self.policy_std = PolicyStd(policy_and_network.actor_net)
        self.rng = np.random.default_rng(params["seed"])

    def learn(self, num_steps):
        result = self.update.train_steps(self.replay_buffer.sample_indices(self.rng, num_steps))
        result["mean_std"] = float(self.policy_std().asnumpy())
        return result


class DeterministicAction(nn.Cell):
    """Compiled batched deterministic action: the tanh mean of the eval policy."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def construct(self, obs):
        return ops.clamp(self.policy(obs), -1.0, 1.0)


EVAL_BACKENDS = ("numpy", "graph")


class IQLActor(Actor):
    """Evaluates the deterministic policy (tanh mean, clipped to [-1, 1]) on observations
    normalised like the training data.

    ``params["eval_backend"]``: ``graph`` (default) runs the compiled eval policy (weights
    copied in-graph); ``numpy`` runs it as a NumPy forward pass
    (:class:`~mindspore_rl_ext.nets.policies.NumpyTanhMean`, weights read from the actor at
    each ``act``): 0.06 against 1.2 ms per call, the same actions to ~3e-7, so the same
    returns on short episodes, while 1000-step MuJoCo episodes drift apart as the batched and
    one-at-a-time graph evaluations do."""

    def __init__(self, params, policy_and_network, environment):
        super().__init__(params, policy_and_network, environment)
        self.backend = (params or {}).get("eval_backend", "graph")
        if self.backend not in EVAL_BACKENDS:
            raise ValueError(f"eval_backend '{self.backend}' is not one of {EVAL_BACKENDS}")
        self.action_fn = DeterministicAction(policy_and_network.eval_policy)
        self.sync_eval_policy = WeightCopy(policy_and_network.actor_net, policy_and_network.eval_policy)
        self.numpy_policy = NumpyTanhMean()
        self.obs_mean = self.obs_std = None

    def set_observation_normalizer(self, mean, std):
        self.obs_mean, self.obs_std = mean.astype(np.float32), std.astype(np.float32)

    def normalize(self, observations):
        obs = observations.astype(np.float32)
        if self.obs_mean is not None:
            obs = (obs - self.obs_mean) / self.obs_std
        return obs

    def get_action(self, observations):
        """Graph eval policy (call ``sync_eval_policy`` first)."""
        return self.action_fn(ms.Tensor(self.normalize(observations))).asnumpy()

    def get_action_numpy(self, observations):
        """NumPy eval policy (call ``numpy_policy.set_weights(actor)`` first)."""
        return self.numpy_policy(self.normalize(observations))

    def act(self, num_episodes, vectorized=True):
        if self.backend == "numpy":
            self.numpy_policy.set_weights(self.policy_and_network.actor_net)
            policy = self.get_action_numpy
        else:
            self.sync_eval_policy()
            policy = self.get_action
        return self.environment.run_episodes(policy, num_episodes, vectorized)
