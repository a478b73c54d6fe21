"""IDQL / AlignIQL / AlignIQL-hard: the per-algorithm selection scores, the multiplier
losses, and the compiled update.

One update (``IDQLUpdate.step``), in the order of jaxrl5's ``DDPMIQLLearner.update``
(IDQL, Hansen-Estruch et al. 2023; upstream philippe-eecs/IDQL,
jaxrl5/agents/ddpm_iql_simple/ddpm_iql_learner.py) and AlignIQL's ``ALIGNIQLLearner.update``
(He et al. 2024; upstream felix-thu/AlignIQL, jaxrl5/agents/align_iql/align_iql_learner.py):

1. actor (pure behaviour cloning): L = mean_batch sum_dims (eps_hat - eps)^2; AdamW
   (decoupled weight decay on every parameter, as optax.adamw) with a cosine lr decay;
   then EMA actor <- (1 - 0.001) EMA + 0.001 actor, every step, no warm-up;
2. V (joint critic only): L_V = mean(|tau - 1(u < 0)| u^2), u = min(Q1', Q2')(s, a) - V(s);
3. Q (joint critic only): y = r + gamma (1 - terminal) V(s') with the just-updated V;
   L_Q = mean over both members and the batch of (Q_i - y)^2; then Q' <- Polyak(Q', Q, 0.005);
4. multipliers (aligniql_hard only), with q = min Q'(s, a_data), v = V(s) constants and
   alpha_old, beta_old their values before this step:
   L_alpha = mean(exp(-alpha - beta_old q - 1)) + mean(alpha),
   L_beta = mean(exp(-alpha_old - beta q - 1)) + mean(v beta),
   each network clipped to global norm 1, then Adam(3e-5).

With a pretrained, frozen critic (``Iql.from_pretrained``) steps 2-3 are skipped.

Selection among N candidates a_1..a_N ~ EMA actor, by a per-algorithm score (``SCORES``):
``idql`` Q - V (argmax = argmax of min target Q), ``aligniql`` -(Q - V)^2 (the candidate
whose Q is closest to V(s); ``compute_weight1``), ``aligniql_hard`` -beta(s) Q - 1 (the log
of ``compute_weight2`` = exp(-beta Q - 1)). Greedy evaluation takes the argmax. The online
sampler draws from p = softmax(eta * score), a proper distribution. AlignIQL's
``sample_implicit_policy`` uses p = w / sum(w) instead; with w = -(Q - V)^2 <= 0 that is
p proportional to (Q - V)^2, which prefers candidates *far* from V (the opposite of its
argmax rule) and divides by zero when every Q equals V: the bug fixed here.
"""
import mindspore as ms
from mindspore import ParameterTuple, nn, ops

from mindspore_rl_ext.algorithms.iql.iql import expectile_loss, twin_critic_loss
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import polyak

ALGOS = ("idql", "aligniql", "aligniql_hard")


# ----------------------------------------------------------------------------- selection
# One score per --algo: (q (B, N), v (B, 1), beta (B, 1)) -> (B, N); larger is preferred.
def idql_score(q, v, beta):
    """Q - V: the greedy pick is IDQL's argmax of min target Q."""
    return q - v


def aligniql_score(q, v, beta):
    """-(Q - V)^2: AlignIQL's weight (eta = 1), largest for the Q closest to V(s)."""
    return -ops.square(q - v)


def aligniql_hard_score(q, v, beta):
    """-beta(s) Q - 1: the log of AlignIQL-hard's weight exp(-beta Q - 1)."""
    return -beta * q - 1.0


SCORES = {"idql": idql_score, "aligniql": aligniql_score, "aligniql_hard": aligniql_hard_score}


def sampling_probabilities(score, eta):
    """The online sampler's distribution over candidates: softmax(eta * score) per row."""
    return ops.softmax(eta * score, -1)


# ----------------------------------------------------------------------------- multipliers
def alpha_loss(alpha, beta_fixed, q):
    """mean(exp(-alpha - beta q - 1)) + mean(alpha), beta held at its pre-update value."""
    return ops.mean(ops.exp(-alpha - beta_fixed * q - 1.0)) + ops.mean(alpha)


def beta_loss(beta, alpha_fixed, q, v):
    """mean(exp(-alpha - beta q - 1)) + mean(v beta), alpha held at its pre-update value."""
    return ops.mean(ops.exp(-alpha_fixed - beta * q - 1.0)) + ops.mean(v * beta)


class IDQLUpdate(CompiledTraining):
    """``step(s, a, r, s', not_done, t, noise, drop_seed)``: one update (module doc); t,
    noise and the dropout seed are host-drawn per step, so runs repeat exactly."""

    METRICS = ("actor_loss", "critic_loss", "value_loss", "alpha_loss", "beta_loss")

    def __init__(self, nets, dataset, params):
        super().__init__(dataset)
        self.actor = nets.actor
        self.critic = nets.critic
        self.multipliers = nets.multipliers
        self.train_critic = nets.critic_trained
        self.use_multipliers = nets.multipliers is not None
        self.gamma = float(params["gamma"])
        self.expectile = float(params["expectile"])
        self.tau = float(params["update_factor"])
        self.ema_rate = float(params["ema_rate"])
        self.weight_decay = float(params["weight_decay"])
        self.clip_norm = float(params["multiplier_grad_clip"])
        self.actor_lr = nn.CosineDecayLR(0.0, float(params["actor_lr"]),
                                         max(1, int(params["lr_decay_steps"])))
        self.actor_opt = nn.Adam(self.actor.trainable_params(), learning_rate=self.actor_lr)
        self.actor_params = ParameterTuple(self.actor.trainable_params())
        self.actor_grad = ms.value_and_grad(self.actor_loss, None, self.actor_opt.parameters)
        self.ema_sources = ParameterTuple(self.actor.get_parameters())
        self.ema_targets = ParameterTuple(nets.ema_actor.get_parameters())
        if self.train_critic:
            joint = self.critic
            self.value_opt = nn.Adam(joint.value.trainable_params(),
                                     learning_rate=params["value_lr"])
            self.critic_opt = nn.Adam(joint.critic.trainable_params(),
                                      learning_rate=params["critic_lr"])
            self.value_grad = ms.value_and_grad(self.value_loss, None, self.value_opt.parameters)
            self.critic_grad = ms.value_and_grad(self.critic_loss, None,
                                                 self.critic_opt.parameters)
            self.q_sources = ParameterTuple(joint.critic.get_parameters())
            self.q_targets = ParameterTuple(joint.critic_target.get_parameters())
        if self.use_multipliers:
            lr = float(params["multiplier_lr"])
            self.alpha_opt = nn.Adam(self.multipliers.alpha.trainable_params(), learning_rate=lr)
            self.beta_opt = nn.Adam(self.multipliers.beta.trainable_params(), learning_rate=lr)
            self.alpha_grad = ms.value_and_grad(self.alpha_objective, None,
                                                self.alpha_opt.parameters)
            self.beta_grad = ms.value_and_grad(self.beta_objective, None,
                                               self.beta_opt.parameters)

    # ---- losses (differentiated with respect to one network each)
    def actor_loss(self, s, a, t, noise, drop_seed):
        return self.actor.noise_loss(a, s, t, noise, drop_seed)

    def value_loss(self, s, target_q):
        return expectile_loss(target_q - self.critic.value(s), self.expectile)

    def critic_loss(self, s, a, y):
        q1, q2 = self.critic.critic(s, a)
        return 0.5 * twin_critic_loss(q1, q2, y)  # the mean over both members

    def alpha_objective(self, s, beta_fixed, q):
        return alpha_loss(self.multipliers.alpha(s), beta_fixed, q)

    def beta_objective(self, s, alpha_fixed, q, v):
        return beta_loss(self.multipliers.beta(s), alpha_fixed, q, v)

    # ---- the four parts of a step
    def actor_step(self, s, a, t, noise, drop_seed):
        loss, grads = self.actor_grad(s, a, t, noise, drop_seed)
        lr = self.actor_lr(self.actor_opt.global_step)
        for param in self.actor_params:  # optax.adamw: p <- p - lr (adam + wd p)
            ops.assign(param, param * (1.0 - lr * self.weight_decay))
        self.actor_opt(grads)
        polyak(self.ema_targets, self.ema_sources, self.ema_rate)
        return loss

    def value_step(self, s, a):
        loss, grads = self.value_grad(s, ops.stop_gradient(self.critic.target_q(s, a)))
        self.value_opt(grads)
        return loss

    def critic_step(self, s, a, r, s2, not_done):
        y = ops.stop_gradient(r + self.gamma * not_done * self.critic.v(s2))
        loss, grads = self.critic_grad(s, a, y)
        self.critic_opt(grads)
        polyak(self.q_targets, self.q_sources, self.tau)
        return loss

    def multiplier_step(self, s, a):
        q = ops.stop_gradient(self.critic.target_q(s, a))
        v = ops.stop_gradient(self.critic.v(s))
        alpha_old = ops.stop_gradient(self.multipliers.alpha(s))
        beta_old = ops.stop_gradient(self.multipliers.beta(s))
        la, grads_a = self.alpha_grad(s, beta_old, q)
        self.alpha_opt(ops.clip_by_global_norm(grads_a, self.clip_norm))
        lb, grads_b = self.beta_grad(s, alpha_old, q, v)
        self.beta_opt(ops.clip_by_global_norm(grads_b, self.clip_norm))
        return la, lb

    def step(self, s, a, r, s2, not_done, t, noise, drop_seed):
        actor_loss = self.actor_step(s, a, t, noise, drop_seed)
        critic_loss = ops.zeros((), ms.float32)
        value_loss = ops.zeros((), ms.float32)
        la = ops.zeros((), ms.float32)
        lb = ops.zeros((), ms.float32)
        if self.train_critic:
            value_loss = self.value_step(s, a)
            critic_loss = self.critic_step(s, a, r, s2, not_done)
        if self.use_multipliers:
            la, lb = self.multiplier_step(s, a)
        return actor_loss, critic_loss, value_loss, la, lb


class IDQLOnlineUpdate(CompiledTraining):
    """The online phase's update: ``step`` as :class:`IDQLUpdate` without the actor part
    (V, Q and Polyak for a joint critic, the multipliers for aligniql_hard), as IDQL's and
    AlignIQL's online fine-tuning; ``update_actor`` adds the actor step (and its EMA).
    It runs the parts of ``offline`` (an IDQLUpdate) on its networks and optimisers, so
    checkpoints of ``offline`` hold its state too."""

    METRICS = IDQLUpdate.METRICS

    def __init__(self, offline, update_actor):
        super().__init__(offline.dataset, auto_prefix=False)  # keep the shared names
        self.offline = offline
        self.update_actor = bool(update_actor)
        self.train_critic = offline.train_critic
        self.use_multipliers = offline.use_multipliers

    def step(self, s, a, r, s2, not_done, t, noise, drop_seed):
        actor_loss = ops.zeros((), ms.float32)
        critic_loss = ops.zeros((), ms.float32)
        value_loss = ops.zeros((), ms.float32)
        la = ops.zeros((), ms.float32)
        lb = ops.zeros((), ms.float32)
        if self.update_actor:
            actor_loss = self.offline.actor_step(s, a, t, noise, drop_seed)
        if self.train_critic:
            value_loss = self.offline.value_step(s, a)
            critic_loss = self.offline.critic_step(s, a, r, s2, not_done)
        if self.use_multipliers:
            la, lb = self.offline.multiplier_step(s, a)
        return actor_loss, critic_loss, value_loss, la, lb
