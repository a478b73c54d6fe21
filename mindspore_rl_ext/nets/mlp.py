"""Multi-layer perceptrons used by every algorithm.

Dense layers live in ``layers`` (a CellList) whatever the dropout or normalisation, so a
network built with dropout and one built without share parameter names, and weights
copy between them by name (the eval policy is such a copy).
"""
import math

import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import Orthogonal, Zero

ACTIVATIONS = {
    "relu": ops.relu,
    "gelu_tanh": lambda x: ops.gelu(x, approximate="tanh"),
    "mish": ops.mish,
    "tanh": ops.tanh,
}


def dense(in_dim, out_dim, gain=math.sqrt(2.0)):
    """Dense layer with orthogonal weights (gain sqrt 2) and zero bias, as IQL's default_init."""
    return nn.Dense(in_dim, out_dim, weight_init=Orthogonal(gain=gain), bias_init=Zero())


class MLP(nn.Cell):
    """in_dim -> hidden_dims... -> out_dim.

    activation: a key of ACTIVATIONS; activate_final applies it (and dropout) after the
    last layer too; dropout_rate: dropout after each hidden activation (training only);
    layer_norm: LayerNorm(eps) before each hidden activation.
    """

    def __init__(self, in_dim, hidden_dims, out_dim, activation="relu", activate_final=False,
                 dropout_rate=None, layer_norm=False, layer_norm_eps=1e-5):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of {sorted(ACTIVATIONS)}")
        dims = [in_dim, *hidden_dims, out_dim]
        self.layers = nn.CellList([dense(a, b) for a, b in zip(dims[:-1], dims[1:])])
        n_activated = len(self.layers) if activate_final else len(self.layers) - 1
        self.norms = nn.CellList(
            [nn.LayerNorm((d,), epsilon=layer_norm_eps) for d in dims[1:n_activated + 1]]
        ) if layer_norm else None
        self.n_activated = n_activated
        self.act = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(p=dropout_rate) if dropout_rate else None

    def construct(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.n_activated:
                if self.norms is not None:
                    x = self.norms[i](x)
                x = self.act(x)
                if self.dropout is not None:
                    x = self.dropout(x)
        return x
