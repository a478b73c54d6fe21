"""Diffusion-QL family: the learning-rate schedule, one actor-loss function per algo, and
the compiled update.

One update (``DiffusionQLUpdate.construct``), in the order of the reference,
``Diffusion_QL.train`` in agents/ql_diffusion.py of Zhendong-Wang/Diffusion-Policies-for-
Offline-RL (Wang et al. 2023, Diffusion Policies as an Expressive Policy Class for
Offline RL):

1. critic: y = r + not_done * discount * min(Q1', Q2')(s', a'), a' from the EMA actor
   (max over 10 samples per critic first when ``max_q_backup``); loss MSE(Q1,y)+MSE(Q2,y);
   Adam, global-norm clipping at ``gn`` (> 0). ``eg_ood`` adds an OOD penalty (below).
2. actor, by ``algo`` (one loss function each, ``ACTOR_LOSSES``):

   * ``ql``  : bc_loss + eta * q_loss, q_loss = -mean Q_i(s, a~pi) / stop(mean|Q_j|), (i, j) =
     (1, 2) or (2, 1) with probability 1/2; the action is the full differentiable reverse chain.
   * ``qg``  : Q-guided score matching (the "Q-guided" QG fork of Diffusion-QL,
     DarthUtopian/Online-Adaptive-Diffusion-Policies, agents/qg_diffusion.py and
     ``p_losses_with_guidance`` in agents/diffusion.py): g = d minQ(s, x0_hat)/d x0_hat at the
     one-step clean estimate (network output detached), guidance = clamp(sqrt(1-ab)/sqrt(ab) g,
     -1, 1), per-sample weight w = 1/clamp(|g|, 0.8, 5); loss = mean(w (eps_hat - (eps - eta
     guidance))^2).
   * ``edp`` : one-step action approximation (EDP: Kang et al. 2023, Efficient Diffusion
     Policies for Offline Reinforcement Learning; official sail-sg/edp, diffusion/dql.py):
     the denoising pass of the BC loss is reused, a0_hat = predict_start(x_t, t, eps_hat)
     (clamped to +-max_action); q_loss = -mean Q_i(s, a0_hat) / stop(mean|Q_i|) with i
     random (official EDP). ``edp_normalize_q = False`` gives the QG fork's unnormalised
     -mean minQ.
   * ``bc``  : the denoising loss only (no critic is trained).
   * ``eg_ood``: the ``qg`` actor, plus a separately trained diffusion BC model and a critic
     penalty on next actions that are unlikely under it and valued above the batch's
     dataset actions (see ``ood_penalty``).
3. EMA actor: every ``update_ema_every`` steps once step >= ``step_start_ema``, ema = d ema +
   (1-d) actor (before that the EMA actor is a frozen copy of the initial actor, as in DQL).
4. target critic: Polyak with ``tau`` every step.

``PolicyDiagnostics`` (its own compiled call, after each episode's updates, on the first
``DIAG_ROWS`` rows of the episode's last batch) measures what decides whether the Q term
helps: the mean min Q of the data's actions (``q_data``) and of one actor sample per state
(``q_policy``), and the mean L2 distance between the two actions (``policy_data_dist``). An
actor that leaves the data (large distance) for actions its critic overvalues (q_policy >
q_data) while its score falls below BC's is following critic error. It stays outside the
training loop's graph: inside it, MindSpore 2.x failed now and then to compile the loop when
other graphs had been compiled in the same process ("Illegal AnfNode for evaluating").

All randomness (t, noise, coin flips) is drawn in-graph from MindSpore's seeded generators;
batch indices come from the host (numpy RNG), so a run is reproducible for a fixed seed.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from mindspore_rl_ext.core.device_dataset import WritableDeviceDataset
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import polyak

ALGOS = ("ql", "qg", "edp", "bc", "eg_ood")
DIAG_ROWS = 64  # rows of an episode's last batch that PolicyDiagnostics measures
LR_DECAY_MODES = ("none", "cosine", "reference")


class DQLLearningRate(nn.learning_rate_schedule.LearningRateSchedule):
    """lr at the optimiser's global step.

    ``none``: constant. ``cosine``: the intended CosineAnnealingLR(eta_min=0) over all
    ``total_steps`` gradient steps. ``reference``: DQL's actual behaviour -- the scheduler
    steps once per evaluation block of ``steps_per_block`` updates with T_max = ``t_max``
    (num_epochs), so the lr ends near 0.999 x lr (a quirk of the upstream main.py, kept for bit-faithful runs).
    """

    def __init__(self, base_lr, mode="none", total_steps=1, steps_per_block=1, t_max=1):
        super().__init__()
        if mode not in LR_DECAY_MODES:
            raise ValueError(f"lr decay mode '{mode}' is not one of {LR_DECAY_MODES}")
        self.base_lr = float(base_lr)
        self.mode = mode
        self.total_steps = float(max(int(total_steps), 1))
        self.steps_per_block = int(max(int(steps_per_block), 1))
        self.t_max = float(max(int(t_max), 1))

    def construct(self, global_step):
        if self.mode == "none":
            return ops.ones((), ms.float32) * self.base_lr
        if self.mode == "cosine":
            k = ops.minimum(global_step.astype(ms.float32), self.total_steps) / self.total_steps
        else:
            blocks = ops.floor_divide(global_step, self.steps_per_block).astype(ms.float32)
            k = ops.minimum(blocks, self.t_max) / self.t_max
        return 0.5 * self.base_lr * (1.0 + ops.cos(math.pi * k))


def lr_at(base_lr, mode, step, total_steps=1, steps_per_block=1, t_max=1):
    """Host-side twin of DQLLearningRate (for logs and tests)."""
    if mode == "none":
        return base_lr
    if mode == "cosine":
        k = min(step, total_steps) / max(total_steps, 1)
    else:
        k = min(step // max(steps_per_block, 1), t_max) / max(t_max, 1)
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * k))


def max_q_backup_value(tq1, tq2, batch, n):
    """min over critics of the max over n samples per state; tq* are (batch*n,) with the n
    samples of a state adjacent (repeat_interleave order)."""
    return ops.minimum(ops.amax(tq1.reshape(batch, n), 1), ops.amax(tq2.reshape(batch, n), 1))


def _clip(grads, gn):
    return ops.clip_by_global_norm(grads, gn) if gn > 0 else grads


# ----------------------------------------------------------------------------- actor losses
# One function per --algo: (update, s, a, t, noise, x_T, chain_noise, coin, target, w) ->
# (actor_loss, bc_loss, q_loss). ``t``/``noise``: the denoising step and noise of the BC
# term; ``x_T``/``chain_noise``: the reverse chain's start and per-step noise (ql);
# ``coin``: which critic is normalised by the other (ql, edp); ``target``/``w``: the
# Q-shifted noise target and per-sample weight (qg, eg_ood; see qg_target).
def bc_actor_loss(u, s, a, t, noise, x_T, chain_noise, coin, target, w):
    """The denoising loss only."""
    loss = u.actor.loss_with(a, s, t, noise)
    return loss, loss, ops.zeros((), ms.float32)


def ql_actor_loss(u, s, a, t, noise, x_T, chain_noise, coin, target, w):
    """bc + eta * q_loss, q_loss = -mean Q_i(s, a~pi) / stop(mean |Q_j|) through the full
    differentiable reverse chain, (i, j) = (1, 2) or (2, 1) by ``coin``."""
    bc = u.actor.loss_with(a, s, t, noise)
    new_a = u.actor.p_sample_loop(s, x_T, chain_noise)
    q1, q2 = u.critic(s, new_a)
    ql1 = -ops.mean(q1) / ops.stop_gradient(ops.mean(ops.abs(q2)))
    ql2 = -ops.mean(q2) / ops.stop_gradient(ops.mean(ops.abs(q1)))
    q_loss = ops.select(coin, ql1, ql2)
    return bc + u.eta * q_loss, bc, q_loss


def edp_actor_loss(u, s, a, t, noise, x_T, chain_noise, coin, target, w):
    """bc + eta * q_loss on the one-step action estimate a0_hat of the BC pass (EDP)."""
    x_t = u.actor.q_sample(a, t, noise)
    eps_hat = u.actor.model(x_t, t, s)
    bc = ops.mean(ops.square(eps_hat - noise))
    a0 = u.actor.predict_start_from_noise(x_t, t, eps_hat)
    if u.edp_clip_x0:
        a0 = ops.clamp(a0, -u.max_action, u.max_action)
    q1, q2 = u.critic(s, a0)
    if u.edp_normalize_q:
        ql1 = -ops.mean(q1) / ops.stop_gradient(ops.mean(ops.abs(q1)))
        ql2 = -ops.mean(q2) / ops.stop_gradient(ops.mean(ops.abs(q2)))
        q_loss = ops.select(coin, ql1, ql2)
    else:
        q_loss = -ops.mean(ops.minimum(q1, q2))
    return bc + u.eta * q_loss, bc, q_loss


def qg_actor_loss(u, s, a, t, noise, x_T, chain_noise, coin, target, w):
    """Weighted regression of the predicted noise to the Q-shifted target (qg, eg_ood)."""
    x_t = u.actor.q_sample(a, t, noise)
    eps_hat = u.actor.model(x_t, t, s)
    loss = ops.mean(w * ops.square(eps_hat - target))
    bc = ops.mean(ops.square(ops.stop_gradient(eps_hat) - noise))
    return loss, bc, ops.zeros((), ms.float32)


ACTOR_LOSSES = {"bc": bc_actor_loss, "ql": ql_actor_loss, "edp": edp_actor_loss,
                "qg": qg_actor_loss, "eg_ood": qg_actor_loss}


class DiffusionQLUpdate(nn.Cell):
    """One gradient step of the chosen algorithm (GRAPH_MODE); returns a tuple of metrics:
    (critic_loss, actor_loss, bc_loss, q_loss, target_q_mean, ood_penalty)."""

    METRICS = ("critic_loss", "actor_loss", "bc_loss", "ql_loss", "target_q", "ood_penalty")

    def __init__(self, nets, algo="ql", discount=0.99, tau=0.005, eta=1.0, lr=3e-4, critic_lr=3e-4,
                 gn=1.0, max_q_backup=False, n_backup_samples=10, ema_decay=0.995,
                 step_start_ema=1000, update_ema_every=5, lr_decay="none", total_steps=1,
                 steps_per_block=1, t_max=1, edp_normalize_q=True, edp_clip_x0=True,
                 qg_normal_q=1.0, qg_weight_clip=(0.8, 5.0), ood_weight=0.1,
                 ood_threshold=1.0, ood_max_weight=10.0, bc_grad_clip=False):
        super().__init__()
        if algo not in ALGOS:
            raise ValueError(f"algo '{algo}' is not one of {', '.join(ALGOS)}")
        self.algo = algo
        self.actor_loss_fn = ACTOR_LOSSES[algo]
        self.act_dim = nets.act_dim
        self.actor, self.ema_actor = nets.actor, nets.ema_actor
        self.critic, self.critic_target = nets.critic, nets.critic_target
        self.bc_actor = nets.bc_actor
        self.max_action = nets.max_action
        self.discount = float(discount)
        self.tau = float(tau)
        self.eta = float(eta)
        self.gn = float(gn)
        # the reference BC agent clips nothing and decays nothing
        self.actor_gn = self.gn if (algo != "bc" or bc_grad_clip) else 0.0
        self.max_q_backup = bool(max_q_backup)
        self.n_backup = int(n_backup_samples)
        self.ema_decay = float(ema_decay)
        self.step_start_ema = int(step_start_ema)
        self.update_ema_every = int(update_ema_every)
        self.edp_normalize_q = bool(edp_normalize_q)
        self.edp_clip_x0 = bool(edp_clip_x0)
        self.qg_normal_q = float(qg_normal_q)
        self.qg_wmin, self.qg_wmax = float(qg_weight_clip[0]), float(qg_weight_clip[1])
        self.ood_weight = float(ood_weight)
        self.ood_threshold = float(ood_threshold)
        self.ood_max_weight = float(ood_max_weight)
        # what each algo adds around its actor loss (ACTOR_LOSSES)
        self.train_critic = algo != "bc"
        self.differentiable_chain = algo == "ql"          # samples x_T and chain noise
        self.q_guided = algo in ("qg", "eg_ood")          # regresses to the Q-shifted target
        self.ood_penalised = algo == "eg_ood"             # BC model + critic OOD penalty
        # with discount 0 (the bandit toy) the bootstrap term is dead: skip the EMA chain
        self.bootstrap = self.discount > 0 or self.ood_penalised

        def sched(base):
            if not self.train_critic or lr_decay == "none":  # the reference BC decays nothing
                return float(base)
            return DQLLearningRate(base, lr_decay, total_steps, steps_per_block, t_max)

        self.actor_opt = nn.Adam(self.actor.trainable_params(), learning_rate=sched(lr))
        self.actor_grad = ms.value_and_grad(self._actor_loss, None, self.actor_opt.parameters,
                                            has_aux=True)
        if self.train_critic:
            self.critic_opt = nn.Adam(self.critic.trainable_params(),
                                      learning_rate=sched(critic_lr))
            self.critic_grad = ms.value_and_grad(self._critic_loss, None,
                                                 self.critic_opt.parameters, has_aux=True)
        if self.q_guided:
            self.q_input_grad = ops.grad(self._q_min_sum, grad_position=1)
        if self.ood_penalised:
            self.bc_opt = nn.Adam(self.bc_actor.trainable_params(), learning_rate=float(lr))
            self.bc_grad = ms.value_and_grad(self.bc_actor.loss_with, None,
                                             self.bc_opt.parameters)
        self.actor_params = self.actor.trainable_params()
        self.ema_params = list(self.ema_actor.get_parameters())
        self.critic_params = self.critic.trainable_params()
        self.critic_target_params = list(self.critic_target.get_parameters())
        self.step = Parameter(Tensor(0, ms.int32), name="dql_step", requires_grad=False)

    # ---- critic
    def _q_min_sum(self, state, action):
        return ops.sum(self.critic.q_min(state, action)) / self.qg_normal_q

    def _critic_loss(self, s, a, y, s_ood, a_ood, w_ood):
        q1, q2 = self.critic(s, a)
        loss = ops.mean(ops.square(q1 - y)) + ops.mean(ops.square(q2 - y))
        penalty = ops.zeros((), ms.float32)
        if self.ood_penalised:
            data_value = ops.stop_gradient(ops.mean(ops.minimum(q1, q2)))
            penalty = self.ood_penalty(s_ood, a_ood, w_ood, data_value)
            loss = loss + penalty
        return loss, penalty

    def ood_penalty(self, s_ood, a_ood, w_ood, data_value):
        """ood_weight * mean(w * relu((Q1 + Q2)/2 (s', a') - data_value)),
        w = stop(clamp(-logp_bc(a'|s') - thr, 0, max)), data_value = stop(mean min Q(s, a))
        over the batch's dataset pairs.

        The reference multiplied a *detached* target-Q by a detached weight (a constant, zero
        gradient). Here the weight is the constant and Q is the current critic, so the term
        pushes Q down at next actions the BC model finds unlikely -- but only while they are
        valued above the batch's dataset actions. A plain ``w * Q`` term is unbounded below:
        nothing else anchors Q at those actions, and on the bandit toy it drove them to
        -inf (NaN within 400 steps).
        """
        q1, q2 = self.critic(s_ood, a_ood)
        return self.ood_weight * ops.mean(w_ood * ops.relu(0.5 * (q1 + q2) - data_value))

    def ood_weights(self, s_ood, a_ood):
        """w = clamp(-logp - threshold, 0, max), logp = -sum_dims (eps_bc(a'_t, t, s') - eps)^2."""
        t = self.bc_actor.random_t(a_ood.shape[0])
        noise = ops.standard_normal(a_ood.shape)
        eps_hat = self.bc_actor.model(self.bc_actor.q_sample(a_ood, t, noise), t, s_ood)
        neg_logp = ops.sum(ops.square(eps_hat - noise), -1)
        return ops.stop_gradient(ops.clamp(neg_logp - self.ood_threshold, 0.0, self.ood_max_weight))

    def critic_target_value(self, next_s, r, not_done):
        """y, plus (s', a') pairs the eg_ood penalty is evaluated on."""
        if not self.bootstrap:
            return r, next_s, ops.zeros((next_s.shape[0], self.act_dim), ms.float32)
        if self.max_q_backup:
            b = next_s.shape[0]
            s_rpt = ops.repeat_interleave(next_s, self.n_backup, 0)
            a_rpt = ops.stop_gradient(self.ema_actor.sample(s_rpt))
            tq1, tq2 = self.critic_target(s_rpt, a_rpt)
            tq = max_q_backup_value(tq1, tq2, b, self.n_backup)
            s_next, a_next = s_rpt, a_rpt
        else:
            a_next = ops.stop_gradient(self.ema_actor.sample(next_s))
            tq = self.critic_target.q_min(next_s, a_next)
            s_next = next_s
        y = ops.stop_gradient(r + not_done * self.discount * tq)
        return y, s_next, a_next

    # ---- actor
    def _actor_loss(self, s, a, t, noise, x_T, chain_noise, coin, target, w):
        """(actor_loss, bc_loss, q_loss) of this update's algo (ACTOR_LOSSES)."""
        return self.actor_loss_fn(self, s, a, t, noise, x_T, chain_noise, coin, target, w)

    def qg_target(self, s, a, t, noise):
        """Shifted noise target and per-sample weight of Q-guided score matching (all detached)."""
        x_t = self.actor.q_sample(a, t, noise)
        eps_hat = ops.stop_gradient(self.actor.model(x_t, t, s))
        x0_hat = ops.stop_gradient(self.actor.predict_start_from_noise(x_t, t, eps_hat))
        g = ops.stop_gradient(self.q_input_grad(s, x0_hat))
        ratio = self.actor.extract(self.actor.sqrt_1mab, t) / self.actor.extract(self.actor.sqrt_ab, t)
        guidance = ops.clamp(ratio * g, -1.0, 1.0)
        gnorm = ops.sqrt(ops.sum(ops.square(g), -1, keepdim=True))
        w = 1.0 / ops.clamp(gnorm, self.qg_wmin, self.qg_wmax)
        return noise - self.eta * guidance, w

    # ---- targets
    def update_ema(self):
        """ema <- d ema + (1-d) actor on steps where step % every == 0 and step >= start."""
        step = self.step.value()
        do = ops.logical_and(step % self.update_ema_every == 0, step >= self.step_start_ema)
        if do:
            polyak(self.ema_params, self.actor_params, 1.0 - self.ema_decay)
        return do

    def update_critic_target(self):
        """target <- tau critic + (1-tau) target, every step."""
        return polyak(self.critic_target_params, self.critic_params, self.tau)

    def critic_step(self, s, a, y, s_next, a_next, w_ood):
        """One clipped Adam step of the twin critic towards y (+ the eg_ood penalty)."""
        (critic_loss, penalty), cgrads = self.critic_grad(s, a, y, s_next, a_next, w_ood)
        self.critic_opt(_clip(cgrads, self.gn))
        return critic_loss, penalty

    def actor_step(self, s, a):
        """One Adam step of the actor (loss by algo); returns (actor_loss, bc_loss, q_loss)."""
        batch = s.shape[0]
        t = self.actor.random_t(batch)
        noise = ops.standard_normal(a.shape)
        coin = ops.standard_normal(()) > 0
        if self.differentiable_chain:
            x_T = ops.standard_normal(a.shape)
            chain_noise = ops.standard_normal((self.actor.n_timesteps,) + a.shape)
        else:
            x_T = noise
            chain_noise = ops.zeros((1,) + a.shape, ms.float32)
        if self.q_guided:
            target, w = self.qg_target(s, a, t, noise)
        else:
            target, w = noise, ops.ones((batch, 1), ms.float32)
        (actor_loss, bc_loss, q_loss), agrads = self.actor_grad(s, a, t, noise, x_T, chain_noise,
                                                               coin, target, w)
        self.actor_opt(_clip(agrads, self.actor_gn))
        return actor_loss, bc_loss, q_loss

    def bc_actor_step(self, s, a):
        """eg_ood: one Adam step of the separate diffusion BC model (its own optimiser)."""
        t = self.bc_actor.random_t(s.shape[0])
        noise = ops.standard_normal(a.shape)
        loss, grads = self.bc_grad(a, s, t, noise)
        self.bc_opt(grads)
        return loss

    # ---- diagnostics
    def policy_diagnostics(self, s, a, a_pi):
        """(q_data, q_policy, policy_data_dist) of states ``s`` with the data's actions ``a``
        and the actor's ``a_pi``: mean min Q(s, a), mean min Q(s, a_pi) and mean
        ||a_pi - a||_2, all detached. Without a trained critic (``bc``) both Q means are 0."""
        distance = ops.stop_gradient(ops.mean(ops.sqrt(ops.sum(ops.square(a_pi - a), -1))))
        if not self.train_critic:
            zero = ops.zeros((), ms.float32)
            return zero, zero, distance
        q_data = ops.stop_gradient(ops.mean(self.critic.q_min(s, a)))
        q_policy = ops.stop_gradient(ops.mean(self.critic.q_min(s, a_pi)))
        return q_data, q_policy, distance

    def construct(self, s, a, r, next_s, not_done):
        zero = ops.zeros((), ms.float32)
        critic_loss, target_q, penalty = zero, zero, zero
        if self.train_critic:
            y, s_next, a_next = self.critic_target_value(next_s, r, not_done)
            if self.ood_penalised:
                w_ood = self.ood_weights(s_next, a_next)
            else:
                w_ood = ops.zeros((s_next.shape[0],), ms.float32)
            critic_loss, penalty = self.critic_step(s, a, y, s_next, a_next, w_ood)
            target_q = ops.mean(y)
        if self.ood_penalised:
            self.bc_actor_step(s, a)
        actor_loss, bc_loss, q_loss = self.actor_step(s, a)
        if self.train_critic:
            self.update_ema()
            self.update_critic_target()
        ops.assign_add(self.step, ops.ones((), ms.int32))
        return critic_loss, actor_loss, bc_loss, q_loss, target_q, penalty


def transition_arrays(arrays):
    """The device dataset's columns, in the order of ``DiffusionQLUpdate.construct``:
    observations, actions, rewards (N,), next_observations, not_done (N,), float32."""
    n = len(arrays["observations"])
    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return {"observations": f32(arrays["observations"]).reshape(n, -1),
            "actions": f32(arrays["actions"]).reshape(n, -1),
            "rewards": f32(arrays["rewards"]).reshape(n),
            "next_observations": f32(arrays["next_observations"]).reshape(n, -1),
            "not_done": 1.0 - f32(arrays["terminals"]).reshape(n)}


class DiffusionQLTrainLoop(CompiledTraining):
    """The core compiled loop over ``update`` (one DiffusionQLUpdate step per batch).

    ``train_steps(idx)`` with idx (n, batch) int32 returns the mean of each metric over
    the n steps; batches are gathered from the device-resident dataset, which has room
    for ``capacity`` rows (online fine-tuning appends after the offline data)."""

    METRICS = DiffusionQLUpdate.METRICS

    def __init__(self, update, arrays, capacity=None):
        columns = transition_arrays(arrays)
        super().__init__(WritableDeviceDataset(columns, capacity or len(columns["rewards"])))
        self.update = update

    def step(self, s, a, r, next_s, not_done):
        return self.update(s, a, r, next_s, not_done)


class PolicyDiagnostics(nn.Cell):
    """``policy_diagnostics`` of a training loop's update on dataset rows, one compiled call:
    ``measure(indices)`` -> {q_data, q_policy, policy_data_dist} with one actor sample per
    state. ``auto_prefix=False``: the networks keep their checkpoint names."""

    NAMES = ("q_data", "q_policy", "policy_data_dist")

    def __init__(self, loop):
        super().__init__(auto_prefix=False)
        self.update = loop.update
        self.dataset = loop.dataset

    def construct(self, indices):
        s, a = self.dataset(indices)[:2]
        a_pi = ops.stop_gradient(self.update.actor.sample(s))
        return self.update.policy_diagnostics(s, a, a_pi)

    def measure(self, indices):
        out = self(Tensor(np.asarray(indices, np.int32)))
        return {name: float(x.asnumpy()) for name, x in zip(self.NAMES, out)}
