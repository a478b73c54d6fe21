"""MLP's single forward pass (``forward(weights, x)``): equal to NumPy, and to nn.Dense /
nn.LayerNorm applied layer by layer; weights passed in are the ones used."""
import math

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from mindspore_rl_ext.nets.critics import QNetwork
from mindspore_rl_ext.nets.mlp import MLP
from mindspore_rl_ext.nets.policies import GaussianPolicy

T = ms.Tensor


def numpy_mlp(mlp, x, activation):
    acts = {"relu": lambda h: np.maximum(h, 0.0),
            "gelu_tanh": lambda h: 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))}
    h = x.astype(np.float64)
    for i, layer in enumerate(mlp.layers):
        h = h @ layer.weight.asnumpy().T + layer.bias.asnumpy()
        if i < mlp.n_activated:
            if mlp.norms is not None:
                norm = mlp.norms[i]
                mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
                h = (h - mu) / np.sqrt(var + 1e-5) * norm.gamma.asnumpy() + norm.beta.asnumpy()
            h = acts[activation](h)
    return h


class LayerByLayer(nn.Cell):
    """The MLP computed with its nn.Dense / nn.LayerNorm cells (no dropout)."""

    def __init__(self, mlp):
        super().__init__(auto_prefix=False)
        self.mlp = mlp

    def construct(self, x):
        m = self.mlp
        for i, layer in enumerate(m.layers):
            x = layer(x)
            if i < m.n_activated:
                if m.norms is not None:
                    x = m.norms[i](x)
                x = m.act(x)
        return x


@pytest.mark.parametrize("kwargs", [dict(activation="relu"),
                                    dict(activation="gelu_tanh", layer_norm=True, activate_final=True)])
def test_forward_equals_numpy_and_the_dense_layers(kwargs):
    mlp = MLP(5, (8, 8), 3, **kwargs)
    rng = np.random.default_rng(0)
    for norm in (mlp.norms or []):  # not the identity, so that gamma and beta are checked
        norm.gamma.set_data(T(rng.uniform(0.5, 1.5, norm.gamma.shape).astype(np.float32)))
        norm.beta.set_data(T(rng.standard_normal(norm.beta.shape).astype(np.float32)))
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = mlp(T(x)).asnumpy()
    np.testing.assert_allclose(out, numpy_mlp(mlp, x, kwargs["activation"]), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out, LayerByLayer(mlp)(T(x)).asnumpy())
    assert len(mlp.weight_list()) == len(mlp.weights()) == 6 + 2 * len(mlp.norms or [])


def test_forward_uses_the_weights_passed_in():
    rng = np.random.default_rng(1)
    q, other = QNetwork(3, 2, (8,)), QNetwork(3, 2, (8,))
    s, a = (T(rng.standard_normal((4, d)).astype(np.float32)) for d in (3, 2))
    np.testing.assert_array_equal(q.forward(tuple(other.weight_list()), s, a).asnumpy(),
                                  other(s, a).asnumpy())
    pi, pi2 = GaussianPolicy(3, 2, (8, 8)), GaussianPolicy(3, 2, (8, 8))
    pi2.log_std.set_data(T(np.array([0.3, -0.2], np.float32)))
    w = tuple(pi2.weight_list())
    np.testing.assert_array_equal(pi.forward(w, s).asnumpy(), pi2(s).asnumpy())
    np.testing.assert_array_equal(pi.log_prob_with(w, s, a).asnumpy(), pi2.log_prob(s, a).asnumpy())
