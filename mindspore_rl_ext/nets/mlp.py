"""Multi-layer perceptrons used by every algorithm.

Dense layers live in ``layers`` (a CellList) whatever the dropout or normalisation, so a
network built with dropout and one built without share parameter names, and weights
copy between them by name (the eval policy is such a copy).

The forward pass is written once, as ``MLP.forward(weights, x)`` with the weights passed
in (the order of ``MLP.weight_list()``); ``construct`` passes the cell's own parameters.
A fused optimiser (:mod:`mindspore_rl_ext.core.flat_optim`) passes views of one flat
buffer instead, through the same code and the same kernels (MatMul, BiasAdd) as nn.Dense.
"""
import math

from mindspore import nn, ops
from mindspore.common.initializer import Orthogonal, XavierUniform, Zero

_GELU_C = math.sqrt(2.0 / math.pi)
_MATMUL_T = ops.MatMul(transpose_b=True)  # x W^T, nn.Dense's kernel


def gelu_tanh(x):
    """GELU, tanh approximation (PyTorch ``GELU(approximate="tanh")``).

    A named function, not a lambda: GRAPH_MODE parses the source of every function it
    compiles, and a lambda inside a dict literal cannot be parsed back on its own.
    Written out from elementwise ops, as x * sigmoid(2u) == 0.5 x (1 + tanh(u)): forward +
    backward is ~1.6x faster on CPU than ``ops.gelu(x, approximate="tanh")`` (512x512 MLP,
    2 cores) and as accurate (5e-7; MindSpore's CPU ``ops.tanh`` is off by up to 1e-4).
    """
    return x * ops.sigmoid(2.0 * _GELU_C * (x + 0.044715 * x * x * x))


ACTIVATIONS = {
    "relu": ops.relu,
    "gelu_tanh": gelu_tanh,
    "mish": ops.mish,
    "tanh": ops.tanh,
    "swish": ops.silu,
}


def dense(in_dim, out_dim, gain=math.sqrt(2.0)):
    """Dense layer with orthogonal weights (gain sqrt 2) and zero bias, as IQL's default_init."""
    return nn.Dense(in_dim, out_dim, weight_init=Orthogonal(gain=gain), bias_init=Zero())


def xavier_dense(in_dim, out_dim):
    """Dense layer with xavier-uniform weights and zero bias, as jaxrl5's default_init."""
    return nn.Dense(in_dim, out_dim, weight_init=XavierUniform(), bias_init=Zero())


WEIGHT_INITS = {"orthogonal": dense, "xavier_uniform": xavier_dense}


def dense_forward(x, weight, bias):
    """x W^T + b exactly as ``nn.Dense`` computes it (MatMul(transpose_b) + BiasAdd; an
    input of rank > 2 is flattened to 2-D and back)."""
    shape = x.shape
    if len(shape) != 2:
        x = x.reshape(-1, shape[-1])
    x = ops.bias_add(_MATMUL_T(x, weight), bias)
    if len(shape) != 2:
        x = x.reshape(shape[:-1] + (weight.shape[0],))
    return x


class MLP(nn.Cell):
    """in_dim -> hidden_dims... -> out_dim.

    activation: a key of ACTIVATIONS; activate_final applies it (and dropout) after the
    last layer too; dropout_rate: dropout after each hidden activation (training only);
    layer_norm: LayerNorm(eps) before each hidden activation; dropout_layers: indices of
    the activated layers followed by dropout (None: all of them; ``(0,)`` puts one dropout
    after the first block only, as CleanDiffuser's FancyMlpInvDynamic); weight_init: a key of
    WEIGHT_INITS (orthogonal: ikostrikov's IQL; xavier_uniform: jaxrl5, IDQL).
    """

    def __init__(self, in_dim, hidden_dims, out_dim, activation="relu", activate_final=False,
                 dropout_rate=None, layer_norm=False, layer_norm_eps=1e-5, dropout_layers=None,
                 weight_init="orthogonal"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of {sorted(ACTIVATIONS)}")
        if weight_init not in WEIGHT_INITS:
            raise ValueError(f"weight_init '{weight_init}' is not one of {sorted(WEIGHT_INITS)}")
        dims = [in_dim, *hidden_dims, out_dim]
        make = WEIGHT_INITS[weight_init]
        self.layers = nn.CellList([make(a, b) for a, b in zip(dims[:-1], dims[1:])])
        n_activated = len(self.layers) if activate_final else len(self.layers) - 1
        self.norms = nn.CellList(
            [nn.LayerNorm((d,), epsilon=layer_norm_eps) for d in dims[1:n_activated + 1]]
        ) if layer_norm else None
        self.n_activated = n_activated
        # nn.LayerNorm's own kernel, called with the gamma/beta passed to forward
        self.layer_norm = ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1,
                                        epsilon=layer_norm_eps) if layer_norm else None
        self.act = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(p=dropout_rate) if dropout_rate else None
        keep = range(n_activated) if dropout_layers is None else set(dropout_layers)
        self.dropout_after = tuple(i in keep for i in range(len(self.layers)))
        self.n_layers = len(self.layers)

    def weight_list(self):
        """The parameters in ``forward``'s order: each layer's weight and bias, then each
        LayerNorm's gamma and beta."""
        params = [p for layer in self.layers for p in (layer.weight, layer.bias)]
        if self.norms is not None:
            params += [p for norm in self.norms for p in (norm.gamma, norm.beta)]
        return params

    def weights(self):
        """The cell's own parameters as ``forward`` takes them (inside a graph too)."""
        out = ()
        for i in range(self.n_layers):
            out = out + (self.layers[i].weight, self.layers[i].bias)
        if self.norms is not None:
            for i in range(self.n_activated):
                out = out + (self.norms[i].gamma, self.norms[i].beta)
        return out

    def forward(self, weights, x):
        """The MLP on ``x`` with ``weights`` (tensors in ``weight_list`` order)."""
        n = 2 * self.n_layers
        for i in range(self.n_layers):
            x = dense_forward(x, weights[2 * i], weights[2 * i + 1])
            if i < self.n_activated:
                if self.norms is not None:
                    x = self.layer_norm(x, weights[n + 2 * i], weights[n + 2 * i + 1])[0]
                x = self.act(x)
                if self.dropout is not None and self.dropout_after[i]:
                    x = self.dropout(x)
        return x

    def construct(self, x):
        return self.forward(self.weights(), x)
