"""Gaussian policies.

``GaussianPolicy`` is IQL's NormalTanhPolicy: mean = tanh(Dense(trunk(s))), a
state-independent log-std parameter (initialised to 0, clipped to [log_std_min,
log_std_max]), an *unsquashed* Normal around the tanh mean, so log-probs need no tanh
correction (ikostrikov/implicit_q_learning#9). The deterministic action is the tanh mean.

``forward`` / ``log_prob_with`` take the weights (``weight_list()`` order: the trunk's,
the mean head's weight and bias, log_std); ``construct`` / ``log_prob`` pass the cell's own.
"""
import math

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from mindspore_rl_ext.nets.mlp import MLP, dense, dense_forward

LOG_2PI = math.log(2.0 * math.pi)


class GaussianPolicy(nn.Cell):
    """pi(a|s) = Normal(tanh(mean(s)), exp(clip(log_std)))."""

    def __init__(self, obs_dim, act_dim, hidden_dims=(256, 256), dropout_rate=None,
                 log_std_min=-5.0, log_std_max=2.0):
        super().__init__()
        self.trunk = MLP(obs_dim, hidden_dims[:-1], hidden_dims[-1], activate_final=True,
                         dropout_rate=dropout_rate)
        self.mean_head = dense(hidden_dims[-1], act_dim)
        self.log_std = Parameter(Tensor(np.zeros(act_dim, np.float32)), name="log_std")
        self.log_std_min = log_std_min
        self.log_std_max = log_std_max
        self.n_trunk = len(self.trunk.weight_list())

    def weight_list(self):
        return self.trunk.weight_list() + [self.mean_head.weight, self.mean_head.bias, self.log_std]

    def weights(self):
        return self.trunk.weights() + (self.mean_head.weight, self.mean_head.bias, self.log_std)

    def clipped_log_std(self, weights=None):
        log_std = self.log_std if weights is None else weights[-1]
        return ops.clamp(log_std, self.log_std_min, self.log_std_max)

    def forward(self, weights, obs):
        """Deterministic action with ``weights``: the tanh mean, in [-1, 1]."""
        h = self.trunk.forward(weights[:self.n_trunk], obs)
        return ops.tanh(dense_forward(h, weights[self.n_trunk], weights[self.n_trunk + 1]))

    def construct(self, obs):
        """Deterministic action: the tanh mean, in [-1, 1]."""
        return self.forward(self.weights(), obs)

    def log_prob_with(self, weights, obs, act):
        """log pi(a|s) with ``weights``, summed over action dimensions -> (batch,)."""
        mean = self.forward(weights, obs)
        log_std = self.clipped_log_std(weights)
        z = (act - mean) / ops.exp(log_std)
        return (-0.5 * z * z - log_std - 0.5 * LOG_2PI).sum(-1)

    def log_prob(self, obs, act):
        """log pi(a|s) summed over action dimensions -> (batch,)."""
        return self.log_prob_with(self.weights(), obs, act)


class NumpyTanhMean:
    """GaussianPolicy's deterministic action, clip(tanh mean, -1, 1), as a float32 NumPy
    forward pass (no graph launch: ~0.01 ms per call at batch 1-10 against ~0.4 ms).

    ``set_weights(policy)`` copies the weights of a GaussianPolicy (trunk without dropout,
    as at evaluation). NumPy's tanh is exact to float32 rounding, MindSpore's CPU tanh is
    off by up to ~1e-4, so actions agree with the graph policy to about that."""

    def __init__(self, policy=None):
        self.layers = []
        if policy is not None:
            self.set_weights(policy)

    def set_weights(self, policy):
        dense = list(policy.trunk.layers) + [policy.mean_head]
        # (W^T, b): y = x @ W^T + b, W^T contiguous for the matmul
        self.layers = [(np.ascontiguousarray(layer.weight.asnumpy().T), layer.bias.asnumpy())
                       for layer in dense]

    def __call__(self, obs):
        h = np.asarray(obs, np.float32)
        for w, b in self.layers[:-1]:
            h = np.maximum(h @ w + b, 0.0)
        w, b = self.layers[-1]
        return np.clip(np.tanh(h @ w + b), -1.0, 1.0)
