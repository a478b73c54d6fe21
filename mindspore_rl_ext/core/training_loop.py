"""The compiled training loop, written once for every algorithm.

An algorithm's update subclasses :class:`CompiledTraining` and defines
``step(*batch, *extras) -> tuple of scalar metrics`` (one gradient step on one batch) and
``METRICS`` (their names). ``construct(indices, num_steps, *extras)`` runs ``num_steps``
such steps inside one GRAPH_MODE call -- an in-graph ``while`` loop, as MindSpore
Reinforcement's ``train_one_episode`` -- gathering each batch from the device-resident
:class:`~mindspore_rl_ext.core.device_dataset.DeviceDataset` by host-drawn indices, and
returns the mean of each metric. One Python call per thousand updates instead of one per
update is what makes MindSpore fast here (see ``docs/mindspore_notes.md``).

``extras`` are optional per-step inputs stacked along a leading axis (``(n, ...)``; row
``i`` goes to step ``i``), e.g. SAC's host-drawn Gaussian noise.

``pack()`` runs before the steps of a call and ``unpack()`` after them: an update with
fused optimisers (:mod:`mindspore_rl_ext.core.flat_optim`) copies its state into flat
buffers there and back.
"""
import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

DATASET_PREFIX = "dataset."  # parameter-name prefix of the data: never checkpointed


class CompiledTraining(nn.Cell):
    """Base of every algorithm's compiled update (see the module docstring).

    ``dataset``: the DeviceDataset whose gathered arrays (in its order) are the first
    arguments of ``step``. ``auto_prefix=False`` keeps the parameter names of the cells
    the subclass holds (for checkpoints written before it was wrapped)."""

    METRICS = ()

    def __init__(self, dataset, auto_prefix=True):
        super().__init__(auto_prefix=auto_prefix)
        self.dataset = dataset
        self.num_metrics = len(self.METRICS)

    def step(self, *batch):
        raise NotImplementedError

    def pack(self):
        return True

    def unpack(self):
        return True

    def construct(self, indices, num_steps, *extras):
        self.pack()
        i = ops.zeros((), ms.int32)
        totals = ops.zeros((self.num_metrics,), ms.float32)
        while i < num_steps:
            batch = self.dataset(ops.gather(indices, i, 0))
            per_step = tuple(ops.gather(x, i, 0) for x in extras)
            totals = totals + ops.stack(self.step(*(batch + per_step)))
            i = i + 1
        self.unpack()
        return totals / num_steps.astype(ms.float32)

    def train_steps(self, indices, num_steps=None, extras=()):
        """Host entry: run ``num_steps`` (default: every row of ``indices``, an
        (n, batch) int array) steps; returns {metric name: mean over the steps}."""
        indices = np.asarray(indices, np.int32)
        n = len(indices) if num_steps is None else int(num_steps)
        out = self(Tensor(indices), Tensor(n, ms.int32),
                   *(Tensor(np.asarray(x)) for x in extras)).asnumpy()
        return {name: float(v) for name, v in zip(self.METRICS, out)}


def trainable_state(cell):
    """[(name, Parameter)] of a CompiledTraining (networks, targets, optimiser moments,
    counters) without its dataset rows: what a resume needs."""
    return [(n, p) for n, p in cell.parameters_and_names() if not n.startswith(DATASET_PREFIX)]
