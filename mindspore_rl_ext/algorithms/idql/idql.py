"""IDQL, AlignIQL and AlignIQL-hard: a diffusion behaviour policy proposes N candidate
actions and an IQL critic selects among them (IDQL, Hansen-Estruch et al. 2023; AlignIQL,
He et al. 2024). Runtime roles in MindSpore Reinforcement's shape: PolicyAndNetwork,
Learner, Actor. Networks: ``networks.py``; losses, scores and the update: ``update.py``.
"""
import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindspore_rl_ext.algorithms.diffusion_ql.update import transition_arrays
from mindspore_rl_ext.algorithms.idql.networks import (IDQLDiffusion, JointCritic, Multipliers,
                                                       pretrained_critic)
from mindspore_rl_ext.algorithms.idql.update import SCORES, IDQLOnlineUpdate, IDQLUpdate
from mindspore_rl_ext.core.agents import Actor, Learner
from mindspore_rl_ext.core.device_dataset import WritableDeviceDataset
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.weights import copy_weights


class IDQLPolicyAndNetwork:
    """actor (trained, with dropout), ema_actor (sampling, no dropout), critic (joint or
    pretrained), multipliers (aligniql_hard only).

    ``params``: policy_params plus ``algo`` and ``critic`` (critic_params)."""

    def __init__(self, params, replay_buffer):
        obs_dim, act_dim = replay_buffer.state_dim, replay_buffer.action_dim
        kw = dict(n_timesteps=params["T"], beta_schedule=params["beta_schedule"],
                  hidden=params["hidden_dim"], num_blocks=params["num_blocks"],
                  time_dim=params["time_dim"], clip_sampler=params["clip_sampler"])
        self.actor = IDQLDiffusion(obs_dim, act_dim, dropout_rate=params["dropout_rate"], **kw)
        self.ema_actor = IDQLDiffusion(obs_dim, act_dim, dropout_rate=0.0, **kw)
        copy_weights(self.actor, self.ema_actor, freeze=True)
        self.ema_actor.set_train(False)
        cp = params["critic"]
        self.critic_trained = cp["source"] == "joint"
        if self.critic_trained:
            self.critic = JointCritic(obs_dim, act_dim, cp["hidden_sizes"], cp["value_layer_norm"])
        else:
            self.critic = pretrained_critic(cp["pretrained_name"], cp["zoo_dir"],
                                            replay_buffer.obs_mean, replay_buffer.obs_std,
                                            obs_dim, act_dim)
        self.multipliers = (Multipliers(obs_dim, cp["hidden_sizes"])
                            if params["algo"] == "aligniql_hard" else None)

    def networks(self):
        """{checkpoint folder name: cell}."""
        nets = {"actor": self.actor, "ema_actor": self.ema_actor, **self.critic.networks()}
        if self.multipliers is not None:
            nets["multipliers"] = self.multipliers
        return nets


class CandidateSelector(nn.Cell):
    """Batched selection (GRAPH_MODE): N candidates per state from the EMA actor, scored by
    the algorithm's score; returns argmax(eta * score + gumbel) per state (gumbel = 0:
    greedy; Gumbel(0, 1) noise: a draw from softmax(eta * score)).

    ``construct(state (B, S), x_T (B*N, A), noises (T, B*N, A), gumbel (B, N), eta ())``;
    candidates of a state are adjacent (repeat_interleave order)."""

    def __init__(self, nets, algo, num_candidates):
        super().__init__()
        self.actor = nets.ema_actor
        self.critic = nets.critic
        self.multipliers = nets.multipliers
        self.score_fn = SCORES[algo]
        self.n = int(num_candidates)

    def construct(self, state, x_T, noises, gumbel, eta):
        b = state.shape[0]
        s_rpt = ops.repeat_interleave(state, self.n, 0)
        acts = self.actor.sample_with(s_rpt, x_T, noises)
        q = self.critic.target_q(s_rpt, acts).reshape(b, self.n)
        v = self.critic.v(state).reshape(b, 1)
        if self.multipliers is None:
            beta = ops.zeros((b, 1), ms.float32)
        else:
            beta = self.multipliers.beta(state).reshape(b, 1)
        k = ops.argmax(eta * self.score_fn(q, v, beta) + gumbel, 1).astype(ms.int32)
        rows = ops.arange(b, dtype=ms.int32) * self.n + k
        return ops.gather(acts, rows, 0)


class IDQLLearner(Learner):
    """Owns the compiled updates (offline: :class:`IDQLUpdate`; online:
    :class:`IDQLOnlineUpdate`, built on first use) and the host RNG of batch indices,
    diffusion steps, noise and dropout seeds. ``params``: learner_params plus seed, T,
    online_capacity, online_fraction, update_actor. Online rows follow the offline ones
    in the device dataset."""

    def __init__(self, params, policy_and_network, replay_buffer):
        super().__init__(params, policy_and_network, replay_buffer)
        columns = transition_arrays({"observations": replay_buffer.observations,
                                     "actions": replay_buffer.actions,
                                     "rewards": replay_buffer.rewards,
                                     "next_observations": replay_buffer.next_observations,
                                     "terminals": replay_buffer.terminals})
        capacity = len(replay_buffer) + int(params.get("online_capacity", 0))
        self.update = IDQLUpdate(policy_and_network, WritableDeviceDataset(columns, capacity),
                                 params)
        self.update.set_train(True)
        policy_and_network.ema_actor.set_train(False)
        self.offline_size = len(replay_buffer)
        self.online_fraction = float(params.get("online_fraction", 0.0))
        self.update_actor = bool(params.get("update_actor", False))
        self._online = None
        self.batch_size = replay_buffer.batch_size
        self.act_dim = replay_buffer.action_dim
        self.T = int(params["T"])
        self.rng = np.random.default_rng(params["seed"])
        self.metrics = [m for m in IDQLUpdate.METRICS
                        if (m not in ("critic_loss", "value_loss") or self.update.train_critic)
                        and (m not in ("alpha_loss", "beta_loss") or self.update.use_multipliers)]

    def draw(self, num_steps, size, online_rows=0):
        """(indices, (t, noise, dropout seeds)) for ``num_steps`` steps over ``size`` rows;
        with ``online_rows`` > 0 the first round(online_fraction * batch) indices of each
        batch are drawn among the last ``online_rows`` rows, the others among the rest."""
        n, b = int(num_steps), self.batch_size
        k = int(round(self.online_fraction * b)) if online_rows else 0
        offline = size - online_rows
        idx = np.concatenate([offline + self.rng.integers(0, online_rows, (n, k), dtype=np.int32),
                              self.rng.integers(0, offline, (n, b - k), dtype=np.int32)], 1)
        t = self.rng.integers(0, self.T, (n, b), dtype=np.int32)
        noise = self.rng.standard_normal((n, b, self.act_dim), dtype=np.float32)
        seeds = self.rng.uniform(0.0, 1000.0, n).astype(np.float32)
        return idx, (t, noise, seeds)

    def learn(self, num_steps):
        idx, extras = self.draw(num_steps, self.update.dataset.size)
        result = self.update.train_steps(idx, extras=extras)
        return {m: result[m] for m in self.metrics}

    @property
    def online_size(self):
        """Online rows in the device dataset."""
        return self.update.dataset.size - self.offline_size

    def add_transitions(self, obs, act, rew, next_obs, not_done):
        """Append online rows to the device dataset; returns the new size."""
        return self.update.dataset.append({
            "observations": obs, "actions": act, "rewards": rew,
            "next_observations": next_obs, "not_done": not_done})

    def learn_online(self, num_steps):
        """``num_steps`` online updates on mixed batches (see :meth:`draw`)."""
        if self._online is None:
            self._online = IDQLOnlineUpdate(self.update, self.update_actor)
            self._online.set_train(True)
        idx, extras = self.draw(num_steps, self.update.dataset.size, self.online_size)
        result = self._online.train_steps(idx, extras=extras)
        metrics = [m for m in self.metrics if m != "actor_loss" or self.update_actor]
        return {m: result[m] for m in metrics}


class IDQLActor(Actor):
    """Evaluation (greedy, N = num_candidates, or each N of a sweep) and online collection
    (``selection = stochastic``) with host-drawn sampler noise, so actions repeat exactly
    for a given RNG state. The candidates are scored by the run's algo unless a call names
    another ``selection`` rule (``selection_eval.py``). ``params``: actor_params plus algo
    and seed."""

    def __init__(self, params, policy_and_network, environment):
        super().__init__(params, policy_and_network, environment)
        self.algo = params["algo"]
        self.num_candidates = int(params["num_candidates"])
        self.stochastic = params["selection"] == "stochastic"
        self.eta = float(params["sampler_eta"])
        self.temperature = float(params["temperature"])
        self.T = policy_and_network.ema_actor.n_timesteps
        self.act_dim = policy_and_network.ema_actor.act_dim
        self.rng = np.random.default_rng(params["seed"] + 1)
        self._selectors = {}
        self.obs_mean = self.obs_std = None

    def set_observation_normalizer(self, mean, std):
        self.obs_mean, self.obs_std = np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def selector(self, n, selection=None):
        """The compiled selector of N candidates scored by ``selection`` (default: the
        run's algo; another rule of ``SCORES`` evaluates the same networks under it)."""
        selection = selection or self.algo
        if selection not in SCORES:
            raise ConfigError(f"selection: expected one of {', '.join(SCORES)}, "
                              f"got {selection!r}")
        if selection == "aligniql_hard" and self.policy_and_network.multipliers is None:
            raise ConfigError(f"selection 'aligniql_hard' needs the multiplier networks, "
                              f"which a run of --algo {self.algo} does not train")
        if (selection, n) not in self._selectors:
            cell = CandidateSelector(self.policy_and_network, selection, n)
            cell.set_train(False)
            self._selectors[(selection, n)] = cell
        return self._selectors[(selection, n)]

    def get_action(self, observations, num_candidates=None, stochastic=None, selection=None):
        obs = np.asarray(observations, np.float32)
        if self.obs_mean is not None:
            obs = (obs - self.obs_mean) / self.obs_std
        n = int(num_candidates or self.num_candidates)
        stochastic = self.stochastic if stochastic is None else stochastic
        b = len(obs)
        x_T = self.rng.standard_normal((b * n, self.act_dim), dtype=np.float32)
        noises = self.temperature * self.rng.standard_normal((self.T, b * n, self.act_dim),
                                                             dtype=np.float32)
        if stochastic:
            u = np.clip(self.rng.uniform(size=(b, n)), 1e-10, 1.0 - 1e-7)
            gumbel = (-np.log(-np.log(u))).astype(np.float32)
        else:
            gumbel = np.zeros((b, n), np.float32)
        out = self.selector(n, selection)(Tensor(obs), Tensor(x_T), Tensor(noises),
                                          Tensor(gumbel), Tensor(self.eta, ms.float32))
        return out.asnumpy()

    def act(self, num_episodes, vectorized=True, num_candidates=None, selection=None):
        def policy(obs):
            return self.get_action(obs, num_candidates, stochastic=False, selection=selection)

        return self.environment.run_episodes(policy, num_episodes, vectorized)
