"""Diffusion-QL's networks: the twin critic and all networks of one run (actor, EMA
actor, critic, target critic, and eg_ood's separate BC model)."""
from mindspore import nn, ops

from mindspore_rl_ext.algorithms.diffusion_ql.update import ALGOS
from mindspore_rl_ext.core.weights import copy_weights
from mindspore_rl_ext.nets.diffusion import Diffusion, TorchMLP


class DoubleCritic(nn.Cell):
    """Twin Q(s, a): each Linear(s+a,256)-Mish-(Linear 256-Mish) x2 - Linear(256,1) -> (batch,)."""

    def __init__(self, obs_dim, act_dim, hidden_dim=256, n_hidden=3):
        super().__init__()
        dims = (obs_dim + act_dim,) + (hidden_dim,) * n_hidden + (1,)
        self.q1_model = TorchMLP(dims)
        self.q2_model = TorchMLP(dims)

    def construct(self, state, action):
        x = ops.concat((state, action), -1)
        return self.q1_model(x).squeeze(-1), self.q2_model(x).squeeze(-1)

    def q_min(self, state, action):
        q1, q2 = self.construct(state, action)
        return ops.minimum(q1, q2)


class DiffusionNetworks(nn.Cell):
    """All networks of one run: actor, ema_actor, critic, critic_target (and bc_actor for eg_ood)."""

    def __init__(self, obs_dim, act_dim, max_action=1.0, algo="ql", n_timesteps=5,
                 beta_schedule="vp", hidden_dim=256, critic_hidden_dim=256):
        super().__init__()
        if algo not in ALGOS:
            raise ValueError(f"algo '{algo}' is not one of {', '.join(ALGOS)}")
        kw = dict(max_action=max_action, n_timesteps=n_timesteps, beta_schedule=beta_schedule,
                  hidden_dim=hidden_dim)
        self.algo = algo
        self.obs_dim, self.act_dim, self.max_action = obs_dim, act_dim, float(max_action)
        self.actor = Diffusion(obs_dim, act_dim, **kw)
        self.ema_actor = Diffusion(obs_dim, act_dim, **kw)
        copy_weights(self.actor, self.ema_actor, freeze=True)
        self.critic = DoubleCritic(obs_dim, act_dim, critic_hidden_dim)
        self.critic_target = DoubleCritic(obs_dim, act_dim, critic_hidden_dim)
        copy_weights(self.critic, self.critic_target, freeze=True)
        self.bc_actor = Diffusion(obs_dim, act_dim, **kw) if algo == "eg_ood" else None

    def networks(self):
        """{folder name: cell} for per-network checkpoints."""
        nets = {"actor": self.actor, "ema_actor": self.ema_actor, "critic": self.critic,
                "critic_target": self.critic_target}
        if self.bc_actor is not None:
            nets["bc_actor"] = self.bc_actor
        return nets
