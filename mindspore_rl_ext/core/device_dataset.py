"""Transition arrays held on the device as non-trainable Parameters, gathered by index
inside compiled graphs: batches never cross the host boundary during training.

Parameters of a dataset are data, not state: checkpoints leave them out (they live under
the attribute name ``dataset`` of a :class:`~mindspore_rl_ext.core.training_loop.CompiledTraining`,
see ``DATASET_PREFIX`` there)."""
import numpy as np
from mindspore import Parameter, Tensor, nn, ops


class DeviceDataset(nn.Cell):
    """``arrays`` {name: numpy array (N, ...)}; ``construct(idx)`` gathers the rows ``idx``
    of every array, in the order of ``arrays``."""

    def __init__(self, arrays, capacity=None):
        super().__init__()
        self.names = tuple(arrays)
        self.size = len(next(iter(arrays.values())))
        self.capacity = int(capacity or self.size)
        if self.capacity < self.size:
            raise ValueError(f"device dataset capacity {self.capacity} is smaller than its "
                             f"{self.size} rows")
        for name, value in arrays.items():
            value = np.asarray(value)
            if len(value) != self.size:
                raise ValueError(f"device dataset array '{name}' has {len(value)} rows, "
                                 f"'{self.names[0]}' has {self.size}")
            full = np.zeros((self.capacity,) + value.shape[1:], value.dtype)
            full[:self.size] = value
            setattr(self, name, Parameter(Tensor(full), name=name, requires_grad=False))

    def construct(self, idx):
        return tuple(ops.gather(getattr(self, n), idx, 0) for n in self.names)


class _RowWriter(nn.Cell):
    """Scatters rows into the dataset's Parameters inside a graph (a host-side
    ``set_data`` would not reach graphs compiled earlier; see core.weights)."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def construct(self, rows, values):
        for name, value in zip(self.dataset.names, values):
            ops.scatter_update(getattr(self.dataset, name), rows, value)
        return rows


class WritableDeviceDataset(DeviceDataset):
    """A DeviceDataset with room for ``capacity`` rows; the first ``len(arrays)`` hold the
    given data. :meth:`append` writes online rows after them; :meth:`write_rows` writes
    any rows (a ring buffer's slots)."""

    def __init__(self, arrays, capacity):
        super().__init__(arrays, capacity)
        self._host = {}  # the row writer, kept off the cell tree (it points back here)

    def write_rows(self, rows, arrays):
        """Write {name: (n, ...)} at row indices ``rows``; the size grows to cover them.
        ValueError when a row is outside the capacity or a name is missing."""
        missing = [n for n in self.names if n not in arrays]
        if missing:
            raise ValueError(f"rows lack arrays {missing} (the dataset holds {self.names})")
        rows = np.asarray(rows, np.int32).reshape(-1)
        if len(rows) == 0:
            return self.size
        if rows.min() < 0 or rows.max() >= self.capacity:
            raise ValueError(f"device dataset rows {rows.min()}..{rows.max()} are outside its "
                             f"capacity {self.capacity}")
        if "writer" not in self._host:
            self._host["writer"] = _RowWriter(self)
        params = [getattr(self, name) for name in self.names]
        values = tuple(Tensor(np.asarray(arrays[name]).reshape((len(rows),) + tuple(p.shape[1:])),
                              dtype=p.dtype) for name, p in zip(self.names, params))
        self._host["writer"](Tensor(rows), values)
        self.size = max(self.size, int(rows.max()) + 1)
        return self.size

    def append(self, arrays):
        """Write {name: (n, ...)} rows after the current ones; returns the new size."""
        n = len(arrays[self.names[0]]) if self.names[0] in arrays else 0
        if self.size + n > self.capacity:
            raise ValueError(f"device dataset full: {self.size} + {n} rows > capacity "
                             f"{self.capacity}")
        return self.write_rows(np.arange(self.size, self.size + n), arrays)
