"""Gaussian policies.

``GaussianPolicy`` is IQL's NormalTanhPolicy: mean = tanh(Dense(trunk(s))), a
state-independent log-std parameter (initialised to 0, clipped to [log_std_min,
log_std_max]), an *unsquashed* Normal around the tanh mean, so log-probs need no tanh
correction (ikostrikov/implicit_q_learning#9). The deterministic action is the tanh mean.
"""
import math

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from mindspore_rl_ext.nets.mlp import MLP, dense

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

    def clipped_log_std(self):
        return ops.clamp(self.log_std, self.log_std_min, self.log_std_max)

    def construct(self, obs):
        """Deterministic action: the tanh mean, in [-1, 1]."""
        return ops.tanh(self.mean_head(self.trunk(obs)))

    def log_prob(self, obs, act):
        """log pi(a|s) summed over action dimensions -> (batch,)."""
        mean = self.construct(obs)
        log_std = self.clipped_log_std()
        z = (act - mean) / ops.exp(log_std)
        return (-0.5 * z * z - log_std - 0.5 * LOG_2PI).sum(-1)
