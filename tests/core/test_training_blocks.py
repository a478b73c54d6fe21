"""The compiled-training blocks of core/: device dataset (and its writable variant), the
in-graph loop, Polyak averaging and weight copies, checked against NumPy."""
import mindspore as ms
import numpy as np
import pytest
from mindspore import Parameter, ParameterTuple, Tensor, nn

from mindspore_rl_ext.core.device_dataset import DeviceDataset, WritableDeviceDataset
from mindspore_rl_ext.core.training_loop import CompiledTraining, trainable_state
from mindspore_rl_ext.core.weights import WeightCopy, copy_weights, polyak


class Accumulate(CompiledTraining):
    """w += mean(x) per step, a Polyak target of w with tau 0.5; metrics: sum(x), mean(y)
    (+ the extra's sum when one is given)."""

    METRICS = ("x_sum", "y_mean")

    def __init__(self, arrays, capacity=None):
        super().__init__(WritableDeviceDataset(arrays, capacity or len(arrays["x"])))
        self.w = Parameter(Tensor(np.zeros(3, np.float32)), name="w")
        self.target = Parameter(Tensor(np.ones(3, np.float32)), name="target",
                                requires_grad=False)
        self.sources, self.targets = ParameterTuple([self.w]), ParameterTuple([self.target])

    def step(self, x, y, *extras):
        self.w += x.mean(0)
        polyak(self.targets, self.sources, 0.5)
        total = x.sum()
        if len(extras) > 0:
            total = total + extras[0].sum()
        return total, y.mean()


def arrays(n=10):
    return {"x": np.arange(3 * n, dtype=np.float32).reshape(n, 3),
            "y": np.arange(n, dtype=np.float32)}


def test_loop_runs_num_steps_and_returns_the_mean_of_each_metric():
    data = arrays()
    cell = Accumulate(data)
    idx = np.array([[0, 1], [2, 3], [4, 5]], np.int32)
    out = cell.train_steps(idx, num_steps=2)  # the third row is not used
    batches = [data["x"][r] for r in idx[:2]]
    assert out["x_sum"] == pytest.approx(np.mean([b.sum() for b in batches]))
    assert out["y_mean"] == pytest.approx(np.mean([data["y"][r].mean() for r in idx[:2]]))
    w, target = np.zeros(3), np.ones(3)
    for b in batches:  # NumPy replay of the two steps
        w = w + b.mean(0)
        target = 0.5 * target + 0.5 * w
    np.testing.assert_allclose(cell.w.asnumpy(), w, rtol=1e-6)
    np.testing.assert_allclose(cell.target.asnumpy(), target, rtol=1e-6)


def test_loop_feeds_row_i_of_each_extra_to_step_i():
    cell = Accumulate(arrays())
    idx = np.zeros((3, 2), np.int32)
    noise = np.arange(3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4)
    out = cell.train_steps(idx, extras=(noise,))
    x0 = arrays()["x"][0].sum() * 2
    assert out["x_sum"] == pytest.approx(np.mean([x0 + noise[i].sum() for i in range(3)]))


def test_dataset_rows_are_left_out_of_the_trainable_state():
    names = [n for n, _ in trainable_state(Accumulate(arrays()))]
    assert names == ["w", "target"]


def test_writable_dataset_appends_and_writes_rows_seen_by_the_compiled_loop():
    data = arrays(4)
    cell = Accumulate(data, capacity=6)
    cell.train_steps(np.array([[0]], np.int32))  # compile before the writes
    assert cell.dataset.append({"x": np.full((2, 3), 100.0), "y": np.full(2, 7.0)}) == 6
    assert cell.train_steps(np.array([[5]], np.int32))["x_sum"] == pytest.approx(300.0)
    cell.dataset.write_rows([1], {"x": np.full((1, 3), -1.0), "y": np.zeros(1)})
    assert cell.train_steps(np.array([[1]], np.int32))["x_sum"] == pytest.approx(-3.0)
    assert cell.dataset.size == 6


def test_writable_dataset_errors_name_what_is_wrong():
    ds = WritableDeviceDataset(arrays(4), capacity=5)
    with pytest.raises(ValueError, match=r"full: 4 \+ 2 rows > capacity 5"):
        ds.append({"x": np.zeros((2, 3)), "y": np.zeros(2)})
    with pytest.raises(ValueError, match=r"lack arrays \['y'\]"):
        ds.write_rows([0], {"x": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="outside its capacity 5"):
        ds.write_rows([5], {"x": np.zeros((1, 3)), "y": np.zeros(1)})
    with pytest.raises(ValueError, match="capacity 2 is smaller than its 4 rows"):
        DeviceDataset(arrays(4), capacity=2)


def test_copy_weights_freezes_targets_and_weight_copy_reaches_compiled_graphs():
    ms.set_seed(0)
    pair = nn.CellDict({"source": nn.Dense(3, 2), "target": nn.Dense(3, 2)})  # unique names
    source, target = pair["source"], pair["target"]
    copy_weights(source, target, freeze=True)
    for (_, s), (_, t) in zip(source.parameters_and_names(), target.parameters_and_names()):
        np.testing.assert_array_equal(s.asnumpy(), t.asnumpy())
    assert target.trainable_params() == []
    x = Tensor(np.ones((1, 3), np.float32))
    target(x)  # compile a graph reading the target
    source.bias.set_data(Tensor(np.full(2, 5.0, np.float32)))
    WeightCopy(source, target)()
    np.testing.assert_allclose(target(x).asnumpy(), source(x).asnumpy(), rtol=1e-6)
