"""State-action and state value networks.

Each has ``forward(weights, ...)`` with the weights passed in (``weight_list()`` order, the
MLP's) and ``construct`` passing its own, as :class:`~mindspore_rl_ext.nets.mlp.MLP`.
"""
from mindspore import nn, ops

from mindspore_rl_ext.nets.mlp import MLP


class QNetwork(nn.Cell):
    """Q(s, a): MLP on concat(s, a) -> (batch,)."""

    def __init__(self, obs_dim, act_dim, hidden_dims=(256, 256), **mlp_kwargs):
        super().__init__()
        self.net = MLP(obs_dim + act_dim, hidden_dims, 1, **mlp_kwargs)

    def weight_list(self):
        return self.net.weight_list()

    def forward(self, weights, obs, act):
        return self.net.forward(weights, ops.concat((obs, act), -1)).squeeze(-1)

    def construct(self, obs, act):
        return self.forward(self.net.weights(), obs, act)


class ValueNetwork(nn.Cell):
    """V(s): MLP on s -> (batch,)."""

    def __init__(self, obs_dim, hidden_dims=(256, 256), **mlp_kwargs):
        super().__init__()
        self.net = MLP(obs_dim, hidden_dims, 1, **mlp_kwargs)

    def weight_list(self):
        return self.net.weight_list()

    def forward(self, weights, obs):
        return self.net.forward(weights, obs).squeeze(-1)

    def construct(self, obs):
        return self.forward(self.net.weights(), obs)
