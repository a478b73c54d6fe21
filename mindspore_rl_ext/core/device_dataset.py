"""A dataset held on the device as non-trainable Parameters, gathered by index inside
compiled graphs: batches never cross the host boundary during training."""
from mindspore import Parameter, Tensor, nn, ops


class DeviceDataset(nn.Cell):
    """``arrays`` {name: numpy array (N, ...)}; ``batch(name, idx)`` gathers rows."""

    def __init__(self, arrays):
        super().__init__()
        self.names = tuple(arrays)
        for name, value in arrays.items():
            setattr(self, name, Parameter(Tensor(value), name=name, requires_grad=False))

    def construct(self, idx):
        return tuple(ops.gather(getattr(self, n), idx, 0) for n in self.names)
