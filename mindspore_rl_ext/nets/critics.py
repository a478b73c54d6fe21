"""State-action and state value networks."""
from mindspore import nn, ops

from mindspore_rl_ext.nets.mlp import MLP


class QNetwork(nn.Cell):
    """Q(s, a): MLP on concat(s, a) -> (batch,)."""

    def __init__(self, obs_dim, act_dim, hidden_dims=(256, 256), **mlp_kwargs):
        super().__init__()
        self.net = MLP(obs_dim + act_dim, hidden_dims, 1, **mlp_kwargs)

    def construct(self, obs, act):
        return self.net(ops.concat((obs, act), -1)).squeeze(-1)


class ValueNetwork(nn.Cell):
    """V(s): MLP on s -> (batch,)."""

    def __init__(self, obs_dim, hidden_dims=(256, 256), **mlp_kwargs):
        super().__init__()
        self.net = MLP(obs_dim, hidden_dims, 1, **mlp_kwargs)

    def construct(self, obs):
        return self.net(obs).squeeze(-1)
