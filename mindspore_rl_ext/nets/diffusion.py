"""DDPM over actions, as in Diffusion-QL and its forks.

Conventions follow the reference code (``agents/diffusion.py``, ``agents/model.py``,
``agents/helpers.py`` of Zhendong-Wang/Diffusion-Policies-for-Offline-RL; Wang, Hunt & Zhou,
Diffusion Policies as an Expressive Policy Class for Offline Reinforcement Learning,
ICLR 2023):

* discrete DDPM with ``T`` steps, schedules ``vp`` (default), ``linear``, ``cosine``;
* the network predicts epsilon; training loss = mean over batch *and* action dims;
* reverse chain with the posterior variance, x0-estimate clamped to +-max_action at every
  step, final clamp; no stop-gradient, so a loss on the sampled action backpropagates
  through all T steps (what Diffusion-QL's Q-loss needs);
* noise model: sinusoidal time embedding (16, sin first) -> Linear(16,32)-Mish-Linear(32,16),
  trunk on concat(x_t, t_emb, state): 3 x (Linear 256, Mish), final Linear(256, act_dim),
  PyTorch-default initialisation (MindSpore's ``nn.Dense`` default is the same
  kaiming-uniform(a=sqrt 5) weight / uniform(1/sqrt fan_in) bias).

Schedules are computed in float64 NumPy and stored as float32 constants. Inside the
reverse chain (a Python loop over the T steps, unrolled in GRAPH_MODE; T is small) the
per-step coefficients are Python floats, so the compiled graph has no gathers there.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

BETA_SCHEDULES = ("vp", "linear", "cosine")


# ----------------------------------------------------------------------------- schedules
def vp_beta_schedule(n_timesteps, b_min=0.1, b_max=10.0):
    """Variance-preserving (discretised VP-SDE) betas, t = 1..T (DQL's ``vp_beta_schedule``)."""
    t = np.arange(1, n_timesteps + 1, dtype=np.float64)
    T = float(n_timesteps)
    alpha = np.exp(-b_min / T - 0.5 * (b_max - b_min) * (2 * t - 1) / T ** 2)
    return 1.0 - alpha


def linear_beta_schedule(n_timesteps, beta_start=1e-4, beta_end=2e-2):
    return np.linspace(beta_start, beta_end, n_timesteps, dtype=np.float64)


def cosine_beta_schedule(n_timesteps, s=0.008):
    """Nichol & Dhariwal's cosine schedule, betas clipped at 0.999."""
    steps = n_timesteps + 1
    x = np.linspace(0, steps, steps, dtype=np.float64)
    ac = np.cos(((x / steps) + s) / (1 + s) * np.pi * 0.5) ** 2
    ac = ac / ac[0]
    betas = 1 - (ac[1:] / ac[:-1])
    return np.clip(betas, 0, 0.999)


def make_beta_schedule(name, n_timesteps):
    if n_timesteps < 1:
        raise ValueError(f"n_timesteps (T) must be >= 1, got {n_timesteps}")
    if name == "vp":
        return vp_beta_schedule(n_timesteps)
    if name == "linear":
        return linear_beta_schedule(n_timesteps)
    if name == "cosine":
        return cosine_beta_schedule(n_timesteps)
    raise ValueError(f"beta_schedule '{name}' is not one of {', '.join(BETA_SCHEDULES)}")


class DiffusionSchedule:
    """All DDPM buffers as float64 NumPy arrays of length T (index t = 0..T-1)."""

    def __init__(self, betas):
        betas = np.asarray(betas, np.float64)
        self.n_timesteps = len(betas)
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        ab, ab_prev = self.alphas_cumprod, self.alphas_cumprod_prev
        self.sqrt_alphas_cumprod = np.sqrt(ab)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - ab)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / ab)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / ab - 1.0)
        self.posterior_variance = betas * (1.0 - ab_prev) / (1.0 - ab)
        self.posterior_log_variance_clipped = np.log(np.maximum(self.posterior_variance, 1e-20))
        self.posterior_mean_coef1 = betas * np.sqrt(ab_prev) / (1.0 - ab)
        self.posterior_mean_coef2 = (1.0 - ab_prev) * np.sqrt(self.alphas) / (1.0 - ab)

    @classmethod
    def create(cls, name="vp", n_timesteps=5):
        return cls(make_beta_schedule(name, n_timesteps))


def numpy_reverse_chain(schedule, eps_fn, state, x_T, noises, max_action, clip_denoised=True):
    """Reference (NumPy) DDPM reverse chain with given noises, for tests and debugging.

    ``eps_fn(x, t_int_array, state)`` -> epsilon estimate; ``noises[k]`` is the z used at the
    step with index i = T-1-k (the one at i = 0 is ignored, as in DQL).
    """
    x = np.asarray(x_T, np.float64)
    T = schedule.n_timesteps
    for k, i in enumerate(reversed(range(T))):
        t = np.full((x.shape[0],), i, np.int32)
        eps = eps_fn(x, t, state)
        x0 = schedule.sqrt_recip_alphas_cumprod[i] * x - schedule.sqrt_recipm1_alphas_cumprod[i] * eps
        if clip_denoised:
            x0 = np.clip(x0, -max_action, max_action)
        mean = schedule.posterior_mean_coef1[i] * x0 + schedule.posterior_mean_coef2[i] * x
        if i > 0:
            x = mean + np.exp(0.5 * schedule.posterior_log_variance_clipped[i]) * noises[k]
        else:
            x = mean
    return np.clip(x, -max_action, max_action)


# ----------------------------------------------------------------------------- networks
def torch_dense(in_dim, out_dim):
    """Dense with PyTorch's default nn.Linear initialisation (MindSpore's default too)."""
    return nn.Dense(in_dim, out_dim)


class SinusoidalPosEmb(nn.Cell):
    """[sin(t f), cos(t f)] with f_k = exp(-k log(1e4)/(half-1)), k = 0..half-1 (sin first)."""

    def __init__(self, dim=16):
        super().__init__()
        if dim % 2 or dim < 4:
            raise ValueError(f"time embedding dim must be even and >= 4, got {dim}")
        half = dim // 2
        freqs = np.exp(np.arange(half, dtype=np.float64) * -(math.log(10000.0) / (half - 1)))
        self.freqs = Tensor(freqs.astype(np.float32)[None, :])
        self.dim = dim

    def construct(self, t):
        x = t.astype(ms.float32).reshape(-1, 1) * self.freqs
        return ops.concat((ops.sin(x), ops.cos(x)), -1)


class TorchMLP(nn.Cell):
    """Linear layers with PyTorch-default init and an activation between them (Mish default).

    ``activate_final`` applies the activation after the last layer too.
    """

    def __init__(self, dims, activate_final=False):
        super().__init__()
        self.layers = nn.CellList([torch_dense(a, b) for a, b in zip(dims[:-1], dims[1:])])
        self.n_activated = len(self.layers) if activate_final else len(self.layers) - 1

    def construct(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.n_activated:
                x = ops.mish(x)
        return x


class DiffusionNoiseMLP(nn.Cell):
    """eps_theta(x_t, t, s): Diffusion-QL's ``agents/model.py::MLP``."""

    def __init__(self, obs_dim, act_dim, hidden_dim=256, time_dim=16, n_hidden=3):
        super().__init__()
        self.time_emb = SinusoidalPosEmb(time_dim)
        self.time_mlp = TorchMLP((time_dim, time_dim * 2, time_dim))
        self.mid = TorchMLP((act_dim + time_dim + obs_dim,) + (hidden_dim,) * n_hidden,
                            activate_final=True)
        self.final = torch_dense(hidden_dim, act_dim)

    def construct(self, x, t, state):
        temb = self.time_mlp(self.time_emb(t))
        return self.final(self.mid(ops.concat((x, temb, state), -1)))

    def time_table(self, n_timesteps):
        """time_mlp(emb(t)) for t = 0..T-1 -> (T, time_dim): computed once per reverse chain."""
        return self.time_mlp(self.time_emb(ops.arange(n_timesteps, dtype=ms.int32)))

    def with_time_embedding(self, x, temb, state):
        """eps_theta with a precomputed time embedding row (broadcast over the batch)."""
        temb = ops.broadcast_to(temb.reshape(1, -1), (x.shape[0], temb.shape[-1]))
        return self.final(self.mid(ops.concat((x, temb, state), -1)))


class Diffusion(nn.Cell):
    """Conditional DDPM policy a ~ p_theta(a | s) (predict-epsilon, clipped x0).

    ``construct(state)`` samples one action per state with the full reverse chain, drawing its
    noise in-graph; gradients flow through every step. ``loss(action, state)`` is the
    denoising loss with fresh t and noise. The ``*_with`` variants take explicit t / noise.
    ``model``: the noise network eps(x_t, t, s) (default: DQL's DiffusionNoiseMLP).
    """

    def __init__(self, obs_dim, act_dim, max_action=1.0, n_timesteps=5, beta_schedule="vp",
                 hidden_dim=256, time_dim=16, clip_denoised=True, model=None):
        super().__init__()
        self.obs_dim = int(obs_dim)
        self.act_dim = int(act_dim)
        self.max_action = float(max_action)
        self.n_timesteps = int(n_timesteps)
        self.clip_denoised = bool(clip_denoised)
        self.schedule = DiffusionSchedule.create(beta_schedule, self.n_timesteps)
        self.model = model if model is not None else DiffusionNoiseMLP(obs_dim, act_dim,
                                                                       hidden_dim, time_dim)
        sch = self.schedule

        def col(a):
            return Tensor(np.asarray(a, np.float32))

        # gathered per sample by t in the training losses
        self.sqrt_ab = col(sch.sqrt_alphas_cumprod)
        self.sqrt_1mab = col(sch.sqrt_one_minus_alphas_cumprod)
        self.sqrt_recip_ab = col(sch.sqrt_recip_alphas_cumprod)
        self.sqrt_recipm1_ab = col(sch.sqrt_recipm1_alphas_cumprod)
        # per-step Python floats for the (unrolled) reverse chain
        self._c_recip = [float(v) for v in sch.sqrt_recip_alphas_cumprod]
        self._c_recipm1 = [float(v) for v in sch.sqrt_recipm1_alphas_cumprod]
        self._c_coef1 = [float(v) for v in sch.posterior_mean_coef1]
        self._c_coef2 = [float(v) for v in sch.posterior_mean_coef2]
        self._c_std = [float(np.exp(0.5 * v)) for v in sch.posterior_log_variance_clipped]

    # ---- forward process and its inversion
    def extract(self, arr, t):
        return ops.gather(arr, t, 0).reshape(-1, 1)

    def q_sample(self, x0, t, noise):
        return self.extract(self.sqrt_ab, t) * x0 + self.extract(self.sqrt_1mab, t) * noise

    def predict_start_from_noise(self, x_t, t, eps):
        return self.extract(self.sqrt_recip_ab, t) * x_t - self.extract(self.sqrt_recipm1_ab, t) * eps

    def random_t(self, batch):
        return ops.randint(0, self.n_timesteps, (batch,), dtype=ms.int32)

    # ---- training loss
    def loss_with(self, x0, state, t, noise):
        """mean((eps_theta(q_sample(x0,t,noise), t, s) - noise)^2) over batch and dims."""
        eps_hat = self.model(self.q_sample(x0, t, noise), t, state)
        return ops.mean(ops.square(eps_hat - noise))

    def loss(self, x0, state):
        t = self.random_t(x0.shape[0])
        noise = ops.standard_normal(x0.shape)
        return self.loss_with(x0, state, t, noise)

    # ---- reverse chain
    def p_sample_loop(self, state, x, noises):
        """Reverse chain from x = x_T with noises (T, B, A); noises[k] used at step T-1-k."""
        ma = self.max_action
        table = self.model.time_table(self.n_timesteps)
        for k in range(self.n_timesteps):
            i = self.n_timesteps - 1 - k
            eps = self.model.with_time_embedding(x, table[i], state)
            x0 = self._c_recip[i] * x - self._c_recipm1[i] * eps
            if self.clip_denoised:
                x0 = ops.clamp(x0, -ma, ma)
            mean = self._c_coef1[i] * x0 + self._c_coef2[i] * x
            if i > 0:
                x = mean + self._c_std[i] * noises[k]
            else:
                x = mean
        return ops.clamp(x, -ma, ma)

    def sample(self, state):
        batch = state.shape[0]
        x = ops.standard_normal((batch, self.act_dim))
        noises = ops.standard_normal((self.n_timesteps, batch, self.act_dim))
        return self.p_sample_loop(state, x, noises)

    def construct(self, state):
        return self.sample(state)
