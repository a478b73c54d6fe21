"""IDQL's networks (IDQL, Hansen-Estruch et al. 2023, "IDQL: Implicit Q-Learning as an
Actor-Critic Method with Diffusion Policies"; upstream philippe-eecs/IDQL, jaxrl5 files
networks/diffusion.py, networks/resnet.py and agents/ddpm_iql_simple/ddpm_iql_learner.py)
and AlignIQL's multipliers (He et al. 2024, "AlignIQL"; upstream felix-thu/AlignIQL,
jaxrl5/networks/multiplier.py).

* score network eps(x_t, t, s): learnable Fourier time features (W ~ N(0, 0.2^2), (64, 1);
  [cos 2 pi t W^T, sin 2 pi t W^T]) -> MLP(256, 256, swish); input concat(x_t, s, cond) ->
  Dense(256) -> 3 x [dropout -> LayerNorm -> Dense(1024) -> swish -> Dense(256)] + residual
  -> swish -> Dense(act_dim);
* the DDPM of IDQL (:class:`IDQLDiffusion`): the VP schedule of nets/diffusion, noise loss
  summed over action dimensions, sampler with variance beta_t and x clipped to [-1, 1]
  after every step (``clip_sampler``), no x0 clipping;
* critics: twin Q = MLP(256, 256, ReLU) -> Dense(1); V and the multipliers alpha(s), beta(s)
  = LayerNorm(s) -> MLP(256, 256, ReLU) -> Dense(1), xavier-uniform kernels;
* :class:`PretrainedCritic`: the zoo's ``Iql`` (CleanDiffuser's pretrained value functions)
  behind the same interface, frozen.

Dropout masks come from a hash of a host-drawn per-step seed (``hashed_uniform``), not from
MindSpore's stateful random kernels, whose state cannot be checkpointed: a resumed run
repeats an uninterrupted one exactly.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import HeNormal, Normal, Zero, initializer

from mindspore_rl_ext.core.weights import copy_weights
from mindspore_rl_ext.nets.critics import QNetwork, ValueNetwork
from mindspore_rl_ext.nets.diffusion import Diffusion
from mindspore_rl_ext.nets.mlp import MLP, xavier_dense

FLAX_LAYER_NORM_EPS = 1e-6  # flax's nn.LayerNorm default


def hashed_uniform(shape, seed):
    """Deterministic pseudo-uniform numbers in [0, 1) of ``shape`` (2-D) from a float
    ``seed`` (the sine hash of shader code: frac(sin(12.9898 i + seed) * 43758.5453))."""
    n = shape[0] * shape[1]
    idx = ops.arange(n, dtype=ms.float32).reshape(shape)
    x = ops.sin(idx * 12.9898 + seed * 78.233) * 43758.5453
    return x - ops.floor(x)


class FourierFeatures(nn.Cell):
    """Learnable Fourier time features: [cos f, sin f], f = 2 pi t W^T, W ~ N(0, 0.2^2)."""

    def __init__(self, out_dim=128):
        super().__init__()
        self.kernel = Parameter(initializer(Normal(0.2), (out_dim // 2, 1), ms.float32),
                                name="kernel")

    def construct(self, t):
        f = 2.0 * math.pi * ops.matmul(t.astype(ms.float32).reshape(-1, 1), self.kernel.T)
        return ops.concat((ops.cos(f), ops.sin(f)), -1)


class ResidualBlock(nn.Cell):
    """x + Dense(swish(Dense_4h(LayerNorm(dropout(x))))): jaxrl5's MLPResNetBlock."""

    def __init__(self, hidden, dropout_rate):
        super().__init__()
        self.dropout_rate = float(dropout_rate or 0.0)
        self.norm = nn.LayerNorm((hidden,), epsilon=FLAX_LAYER_NORM_EPS)
        # flax Dense default: lecun_normal (std 1/sqrt(fan_in)); HeNormal with a linear gain
        self.dense1 = nn.Dense(hidden, 4 * hidden, weight_init=HeNormal(nonlinearity="linear"),
                               bias_init=Zero())
        self.dense2 = nn.Dense(4 * hidden, hidden, weight_init=HeNormal(nonlinearity="linear"),
                               bias_init=Zero())

    def construct(self, x, drop_seed):
        h = x
        if self.dropout_rate > 0.0 and self.training:
            keep = (hashed_uniform(x.shape, drop_seed) >= self.dropout_rate).astype(x.dtype)
            h = h * keep / (1.0 - self.dropout_rate)
        h = self.dense2(ops.silu(self.dense1(self.norm(h))))
        return x + h


class LNResNetScore(nn.Cell):
    """eps(x_t, t, s, drop_seed) -> (batch, act_dim): IDQL's score network (module doc)."""

    def __init__(self, obs_dim, act_dim, hidden=256, num_blocks=3, dropout_rate=0.1,
                 time_dim=128):
        super().__init__()
        self.time = FourierFeatures(time_dim)
        self.cond = MLP(time_dim, (2 * time_dim,), 2 * time_dim, activation="swish",
                        weight_init="xavier_uniform")
        self.dense_in = xavier_dense(act_dim + obs_dim + 2 * time_dim, hidden)
        self.blocks = nn.CellList([ResidualBlock(hidden, dropout_rate) for _ in range(num_blocks)])
        self.dense_out = xavier_dense(hidden, act_dim)

    def construct(self, x, t, state, drop_seed):
        h = self.dense_in(ops.concat((x, state, self.cond(self.time(t))), -1))
        for i, block in enumerate(self.blocks):
            h = block(h, drop_seed + 0.618034 * i)
        return self.dense_out(ops.silu(h))


class IDQLDiffusion(Diffusion):
    """IDQL's DDPM over actions in [-1, 1] (module doc); schedule and forward process from
    nets/diffusion.Diffusion, loss and sampler IDQL's."""

    def __init__(self, obs_dim, act_dim, n_timesteps=5, beta_schedule="vp", hidden=256,
                 num_blocks=3, dropout_rate=0.1, time_dim=128, clip_sampler=True):
        model = LNResNetScore(obs_dim, act_dim, hidden, num_blocks, dropout_rate, time_dim)
        super().__init__(obs_dim, act_dim, 1.0, n_timesteps, beta_schedule, model=model)
        sch = self.schedule
        self.clip_sampler = bool(clip_sampler)
        self._c_eps = [float(v) for v in (1.0 - sch.alphas) / np.sqrt(1.0 - sch.alphas_cumprod)]
        self._c_scale = [float(v) for v in 1.0 / np.sqrt(sch.alphas)]
        self._c_sigma = [float(v) for v in np.sqrt(sch.betas)]

    def noise_loss(self, x0, state, t, noise, drop_seed):
        """mean over the batch of sum over action dims of (eps_hat - noise)^2."""
        eps_hat = self.model(self.q_sample(x0, t, noise), t, state, drop_seed)
        return ops.mean(ops.sum(ops.square(eps_hat - noise), -1))

    def sample_with(self, state, x, noises):
        """jaxrl5's ``ddpm_sampler`` from x = x_T with noises (T, B, A) (noises[k] at step
        T-1-k, scaled by the temperature already; the one at step 0 is unused)."""
        seed = ops.zeros((), ms.float32)
        for k in range(self.n_timesteps):
            i = self.n_timesteps - 1 - k
            t = ops.ones((x.shape[0],), ms.int32) * i
            eps = self.model(x, t, state, seed)
            x = self._c_scale[i] * (x - self._c_eps[i] * eps)
            if i > 0:
                x = x + self._c_sigma[i] * noises[k]
            if self.clip_sampler:
                x = ops.clamp(x, -1.0, 1.0)
        return ops.clamp(x, -1.0, 1.0)


class TwinQ(nn.Cell):
    """Twin Q(s, a) of IDQL: each MLP(256, 256, ReLU) -> Dense(1) (xavier); (q1, q2)."""

    def __init__(self, obs_dim, act_dim, hidden_sizes=(256, 256)):
        super().__init__()
        self.q1 = QNetwork(obs_dim, act_dim, tuple(hidden_sizes), weight_init="xavier_uniform")
        self.q2 = QNetwork(obs_dim, act_dim, tuple(hidden_sizes), weight_init="xavier_uniform")

    def construct(self, obs, act):
        return self.q1(obs, act), self.q2(obs, act)

    def q_min(self, obs, act):
        return ops.minimum(self.q1(obs, act), self.q2(obs, act))


class StateScalar(nn.Cell):
    """[LayerNorm(s) ->] MLP(256, 256, ReLU) -> Dense(1) -> (batch,): V(s) of IDQL
    (``value_layer_norm``) and AlignIQL's multipliers alpha(s), beta(s)."""

    def __init__(self, obs_dim, hidden_sizes=(256, 256), input_layer_norm=True):
        super().__init__()
        self.norm = (nn.LayerNorm((obs_dim,), epsilon=FLAX_LAYER_NORM_EPS)
                     if input_layer_norm else None)
        self.net = ValueNetwork(obs_dim, tuple(hidden_sizes), weight_init="xavier_uniform")

    def construct(self, obs):
        if self.norm is not None:
            obs = self.norm(obs)
        return self.net(obs)


class Multipliers(nn.Cell):
    """AlignIQL-hard's per-state Lagrange multipliers alpha(s), beta(s)."""

    def __init__(self, obs_dim, hidden_sizes=(256, 256)):
        super().__init__()
        self.alpha = StateScalar(obs_dim, hidden_sizes, True)
        self.beta = StateScalar(obs_dim, hidden_sizes, True)

    def construct(self, obs):
        return self.alpha(obs), self.beta(obs)


class JointCritic(nn.Cell):
    """The IQL critic trained with the actor: twin Q, its Polyak target, V."""

    def __init__(self, obs_dim, act_dim, hidden_sizes=(256, 256), value_layer_norm=True):
        super().__init__()
        self.critic = TwinQ(obs_dim, act_dim, hidden_sizes)
        self.critic_target = TwinQ(obs_dim, act_dim, hidden_sizes)
        self.value = StateScalar(obs_dim, hidden_sizes, value_layer_norm)
        copy_weights(self.critic, self.critic_target, freeze=True)

    def target_q(self, obs, act):
        return self.critic_target.q_min(obs, act)

    def v(self, obs):
        return self.value(obs)

    def networks(self):
        return {"critic": self.critic, "critic_target": self.critic_target, "value": self.value}


class PretrainedCritic(nn.Cell):
    """A zoo ``Iql`` (frozen) as the critic: min target Q and V on observations mapped from
    the training data's normalisation to the one the Iql was trained with."""

    def __init__(self, iql, scale, shift):
        super().__init__()
        self.iql = iql
        for _, param in iql.parameters_and_names():
            param.requires_grad = False
        self.scale = Tensor(np.asarray(scale, np.float32))
        self.shift = Tensor(np.asarray(shift, np.float32))

    def target_q(self, obs, act):
        return self.iql.q_targ.min_q(obs * self.scale + self.shift, act).squeeze(-1)

    def v(self, obs):
        return self.iql.v.min_v(obs * self.scale + self.shift).squeeze(-1)

    def networks(self):
        return {"critic": self.iql.q, "critic_target": self.iql.q_targ, "value": self.iql.v}


def pretrained_critic(name, zoo_dir, data_mean, data_std, obs_dim, act_dim):
    """PretrainedCritic from ``Iql.from_pretrained(name, zoo_dir)``; ConfigError when its
    dimensions differ from the dataset's."""
    from mindspore_rl_ext.core.errors import ConfigError
    from mindspore_rl_ext.utils.valuefuncs.iql import Iql

    iql, params = Iql.from_pretrained(name, zoo_dir)
    if (iql.obs_dim, iql.act_dim) != (obs_dim, act_dim):
        raise ConfigError(f"critic_params.pretrained_name: zoo IQL '{name}' has obs/act dims "
                          f"{iql.obs_dim}/{iql.act_dim}, the dataset {obs_dim}/{act_dim}")
    norm = (params.get("normalizers") or {}).get("state") or {}
    mean = np.asarray(norm.get("mean", np.zeros(obs_dim)), np.float64)
    std = np.asarray(norm.get("std", np.ones(obs_dim)), np.float64)
    # raw = obs * data_std + data_mean; iql_obs = (raw - mean) / std
    scale = np.asarray(data_std, np.float64) / std
    shift = (np.asarray(data_mean, np.float64) - mean) / std
    return PretrainedCritic(iql, scale, shift)

