"""Iql value functions (CleanDiffuser's pretrained IQL API) and the model zoo."""
import json
import math

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn

from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, DatasetError
from mindspore_rl_ext.pretrained import zoo as model_zoo
from mindspore_rl_ext.pretrained.zoo import ModelNotFoundError
from mindspore_rl_ext.utils.valuefuncs import Iql, expectile_loss

OBS, ACT, H = 5, 3, 16


def _small(**kw):
    kw = {"hidden_dim": H, **kw}
    return Iql(OBS, ACT, **kw)


def _randomize(cell, seed=0, scale=0.3):
    """Non-trivial weights everywhere (LayerNorm gamma/beta included)."""
    rng = np.random.default_rng(seed)
    for name, p in cell.parameters_and_names():
        base = 1.0 if name.endswith("gamma") else 0.0
        p.set_data(Tensor((base + scale * rng.standard_normal(p.shape)).astype(np.float32)))


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return {"obs": rng.standard_normal((n, OBS)).astype(np.float32),
            "act": rng.uniform(-1, 1, (n, ACT)).astype(np.float32),
            "next_obs": rng.standard_normal((n, OBS)).astype(np.float32),
            "rew": rng.standard_normal(n).astype(np.float32),
            "done": (rng.uniform(size=n) < 0.1).astype(np.float32)}


def _np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _np_mlp(w, prefix, x):
    """Reference: Linear -> LN(eps 1e-5) -> GELU(tanh) -> Linear -> LN -> GELU -> Linear."""
    x = x.astype(np.float64)
    for i in range(3):
        x = x @ w[f"{prefix}.layers.{i}.weight"].T + w[f"{prefix}.layers.{i}.bias"]
        if i < 2:
            mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
            x = (x - mu) / np.sqrt(var + 1e-5) * w[f"{prefix}.norms.{i}.gamma"] \
                + w[f"{prefix}.norms.{i}.beta"]
            x = _np_gelu_tanh(x)
    return x


def _weights(cell):
    return {n: p.asnumpy().astype(np.float64) for n, p in cell.parameters_and_names()}


@pytest.fixture(scope="module")
def iql3():
    """One model for the read-only tests (compiled once: any batch size reuses the graph)."""
    iql = _small(q_ensembles=3)
    _randomize(iql, seed=3)
    return iql


def test_shapes_for_leading_shapes(iql3):
    rng = np.random.default_rng(1)
    for lead in [(), (7,), (2, 4), (2, 3, 4), (1, 1, 1, 5)]:
        obs = rng.standard_normal(lead + (OBS,)).astype(np.float32)
        act = rng.uniform(-1, 1, lead + (ACT,)).astype(np.float32)
        for use_ema in (False, True):
            q = iql3.forward_q(obs, act, use_ema=use_ema)
            assert isinstance(q, np.ndarray) and q.shape == lead + (1,)
        v = iql3.forward_v(obs)
        assert isinstance(v, np.ndarray) and v.shape == lead + (1,)
        qt = iql3.forward_q(Tensor(obs), Tensor(act))  # Tensor in -> Tensor out
        assert isinstance(qt, Tensor) and tuple(qt.shape) == lead + (1,)
        np.testing.assert_allclose(qt.asnumpy(), iql3.forward_q(obs, act), rtol=1e-6)
        vt = iql3.forward_v(Tensor(obs), requires_grad=True)
        assert isinstance(vt, Tensor) and tuple(vt.shape) == lead + (1,)


def test_broadcast_and_bad_shapes(iql3):
    iql = iql3
    obs = np.zeros((4, 1, OBS), np.float32)
    act = np.zeros((4, 6, ACT), np.float32)  # e.g. 6 candidate actions per state
    assert iql.forward_q(obs, act).shape == (4, 6, 1)
    with pytest.raises(ConfigError, match="obs"):
        iql.forward_q(np.zeros((4, OBS + 1)), np.zeros((4, ACT)))
    with pytest.raises(ConfigError, match="broadcast"):
        iql.forward_q(np.zeros((4, OBS)), np.zeros((5, ACT)))
    with pytest.raises(ConfigError, match="tau"):
        Iql(OBS, ACT, tau=1.5)


def test_forward_q_is_min_over_ensemble_members(iql3):
    iql, n_q = iql3, 3
    obs = np.random.default_rng(2).standard_normal((3, 9, OBS)).astype(np.float32)
    act = np.random.default_rng(3).uniform(-1, 1, (3, 9, ACT)).astype(np.float32)
    w = _weights(iql)
    x = np.concatenate([obs, act], -1)
    members = np.stack([_np_mlp(w, f"q.q_funcs.{i}", x) for i in range(n_q)], -2)
    assert members.shape == (3, 9, n_q, 1)
    assert np.ptp(members, axis=-2).max() > 1e-3  # members differ: the min is not trivial
    np.testing.assert_allclose(iql.forward_q(obs, act), members.min(-2), rtol=1e-4, atol=1e-4)
    targ = np.stack([_np_mlp(w, f"q_targ.q_funcs.{i}", x) for i in range(n_q)], -2)
    np.testing.assert_allclose(iql.forward_q(obs, act, use_ema=True), targ.min(-2),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(iql.forward_v(obs), _np_mlp(w, "v.v_funcs.0", obs),
                               rtol=1e-4, atol=1e-4)


def test_layer_norm_eps_and_gelu_match_reference():
    """With tiny pre-activations, LayerNorm eps 1e-7 (MindSpore's default) or exact GELU
    would give visibly different values than the reference (eps 1e-5, tanh GELU)."""
    iql = _small()
    _randomize(iql, seed=5)
    for name, p in iql.parameters_and_names():
        if name.endswith("layers.0.weight"):
            p.set_data(p * 2e-3)
        if name.endswith("layers.0.bias"):
            p.set_data(p * 0.0)
    assert all(c.epsilon == 1e-5 for _, c in iql.cells_and_names() if isinstance(c, nn.LayerNorm))
    obs = np.random.default_rng(6).standard_normal((8, OBS)).astype(np.float32)
    np.testing.assert_allclose(iql.forward_v(obs), _np_mlp(_weights(iql), "v.v_funcs.0", obs),
                               rtol=1e-3, atol=1e-4)


def test_expectile_loss_hand_computed():
    diff = Tensor(np.array([1.0, -2.0, 0.5, -0.1], np.float32))
    # |0.7 - 1[d<0]| d^2: 0.7*1 + 0.3*4 + 0.7*0.25 + 0.3*0.01 = 2.078; mean over 4
    assert float(expectile_loss(diff, 0.7).asnumpy()) == pytest.approx(2.078 / 4, rel=1e-6)
    assert float(expectile_loss(diff, 0.5).asnumpy()) == pytest.approx(0.5 * 5.26 / 4, rel=1e-6)


def test_losses_match_numpy_formulas():
    iql = _small(tau=0.8, discount=0.9)
    _randomize(iql, seed=7)
    d = _data(32, seed=8)
    rew, done = d["rew"][:, None], d["done"][:, None]
    loss_q, loss_v, pred_v, _ = (float(x.asnumpy()) for x in iql.losses(
        Tensor(d["obs"]), Tensor(d["act"]), Tensor(rew), Tensor(d["next_obs"]), Tensor(done)))
    w = _weights(iql)
    x = np.concatenate([d["obs"], d["act"]], -1)
    q_t = np.minimum(_np_mlp(w, "q_targ.q_funcs.0", x), _np_mlp(w, "q_targ.q_funcs.1", x))
    v = _np_mlp(w, "v.v_funcs.0", d["obs"])
    diff = q_t - v
    ref_v = np.mean(np.abs(0.8 - (diff < 0)) * diff ** 2)
    target = rew + 0.9 * (1 - done) * _np_mlp(w, "v.v_funcs.0", d["next_obs"])
    preds = np.stack([_np_mlp(w, f"q.q_funcs.{i}", x) for i in range(2)], 1)  # (B, 2, 1)
    ref_q = np.mean((preds - target[:, None, :]) ** 2)
    assert loss_v == pytest.approx(ref_v, rel=1e-4)
    assert loss_q == pytest.approx(ref_q, rel=1e-4)
    assert pred_v == pytest.approx(v.mean(), rel=1e-4, abs=1e-5)


def test_ema_target_moves_by_ratio():
    iql = _small(ema_ratio=0.9)
    _randomize(iql, seed=9)  # target != online, so the move is visible
    q_old = {n: p.asnumpy().copy() for n, p in iql.q.parameters_and_names()}
    t_old = {n: p.asnumpy().copy() for n, p in iql.q_targ.parameters_and_names()}
    iql.fit(_data(64), steps=1, batch_size=16, log=None)
    moved = False
    for name, p in iql.q_targ.parameters_and_names():
        expected = 0.9 * t_old[name] + 0.1 * q_old[name]  # from the pre-update online Q
        np.testing.assert_allclose(p.asnumpy(), expected, rtol=1e-5, atol=1e-6)
        moved |= not np.allclose(p.asnumpy(), t_old[name])
    assert moved
    assert any(not np.allclose(p.asnumpy(), q_old[n]) for n, p in iql.q.parameters_and_names())
    assert not any(p.requires_grad for p in iql.q_targ.get_parameters())


def test_fit_learns_and_resumes_exactly(tmp_path):
    """rew 1 with done 1 everywhere: Q and V -> 1. A run split in two with a checkpoint
    in between ends with the same weights as one uninterrupted run."""
    d = _data(128, seed=10)
    d["rew"][:] = 1.0
    d["done"][:] = 1.0
    straight = _small(lr=1e-2, ema_ratio=0.5)
    init = {n: p.asnumpy().copy() for n, p in straight.parameters_and_names()}
    hist = straight.fit(d, steps=60, batch_size=32, log_every=20, log=None)
    assert hist["steps"] == 60 and len(hist["history"]) == 3
    q = straight.forward_q(d["obs"], d["act"])
    assert np.abs(q - 1.0).mean() < 0.2, q.ravel()[:5]
    assert np.abs(straight.forward_v(d["obs"]) - 1.0).mean() < 0.3
    assert hist["history"][-1]["loss_q"] < 0.5 * hist["history"][0]["loss_q"]

    first = _small(lr=1e-2, ema_ratio=0.5)
    for n, p in first.parameters_and_names():
        p.set_data(Tensor(init[n]))
    first.fit(d, steps=40, batch_size=32, log_every=20, ckpt_dir=str(tmp_path), log=None)
    assert (tmp_path / "train_state.json").is_file()
    second = _small(lr=1e-2, ema_ratio=0.5)  # fresh weights: resume must restore everything
    lines = []
    hist2 = second.fit(d, steps=60, batch_size=32, log_every=20, ckpt_dir=str(tmp_path),
                       log=lines.append)
    assert "resumed" in lines[0] and "step 40" in lines[0]
    assert hist2["steps"] == 60 and len(hist2["history"]) == 3
    ref = dict(straight.parameters_and_names())
    for n, p in second.parameters_and_names():
        np.testing.assert_allclose(p.asnumpy(), ref[n].asnumpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(CheckpointError, match="another configuration"):
        _small(lr=1e-2, ema_ratio=0.5).fit(d, steps=60, batch_size=64, log_every=20,
                                           ckpt_dir=str(tmp_path), log=None)


def test_fit_rejects_bad_data():
    with pytest.raises(DatasetError, match="next_obs"):
        _small().fit({k: v for k, v in _data(16).items() if k != "next_obs"}, steps=1, log=None)
    bad = _data(16)
    bad["rew"][3] = np.nan
    with pytest.raises(DatasetError, match="NaN"):
        _small().fit(bad, steps=1, log=None)


def test_save_from_pretrained_identical(tmp_path, monkeypatch):
    iql = _small(tau=0.9, q_ensembles=3)
    _randomize(iql, seed=11)
    norm = {"mean": np.arange(OBS, dtype=np.float32), "std": np.full(OBS, 2.0, np.float32)}
    folder = iql.save_pretrained("test/toy-v0", zoo_dir=tmp_path, normalizer=norm,
                                 metrics={"x": 1.0})
    assert folder == tmp_path / "iql" / "test" / "toy-v0"
    params = json.loads((folder / "params.json").read_text())
    assert params["config"] == iql.config and params["kind"] == "iql"
    assert params["normalizers"]["state"]["std"] == [2.0] * OBS

    loaded, lparams = Iql.from_pretrained("test/toy-v0", zoo_dir=tmp_path)
    assert lparams["config"]["q_ensembles"] == 3 and lparams["config"]["tau"] == 0.9
    mine = dict(iql.parameters_and_names())
    for n, p in loaded.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), mine[n].asnumpy())
    obs = np.random.default_rng(12).standard_normal((2, 5, OBS)).astype(np.float32)
    act = np.random.default_rng(13).uniform(-1, 1, (2, 5, ACT)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward_q(obs, act), iql.forward_q(obs, act))
    np.testing.assert_allclose(model_zoo.normalize_obs(np.ones(OBS), lparams),
                               (1.0 - np.arange(OBS)) / 2.0)

    monkeypatch.setenv(model_zoo.ZOO_ENV_VAR, str(tmp_path))  # the env var finds it too
    again, _ = Iql.from_pretrained("test/toy-v0")
    for n, p in again.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), mine[n].asnumpy())
    assert "test/toy-v0" in model_zoo.list_models("iql")["iql"]

    # a weights file that does not match its params.json is refused
    (folder / "model.ckpt").write_bytes((folder / "model.ckpt").read_bytes()[:-7])
    with pytest.raises(CheckpointError, match="SHA-256"):
        Iql.from_pretrained("test/toy-v0", zoo_dir=tmp_path)


def test_missing_model_lists_zoo_and_command(tmp_path):
    _small().save_pretrained("have/this-v0", zoo_dir=tmp_path)
    with pytest.raises(ModelNotFoundError) as err:
        Iql.from_pretrained("walker2d-medium-v2", zoo_dir=tmp_path)
    msg = str(err.value)
    assert "walker2d-medium-v2" in msg and "have/this-v0" in msg
    assert "pretrain_zoo" in msg and "--models iql" in msg
    assert isinstance(err.value, CheckpointError)
    with pytest.raises(ConfigError):
        Iql.from_pretrained("../etc", zoo_dir=tmp_path)



def test_cleandiffuser_state_dict_conversion():
    src = _small()
    _randomize(src, seed=14)
    sd = {}
    idx = {"layers.0": "0", "norms.0": "1", "layers.1": "3", "norms.1": "4", "layers.2": "6"}
    for name, p in src.parameters_and_names():  # rename to CleanDiffuser's torch keys
        head, layer, k, leaf = name.rsplit(".", 3)
        leaf = {"gamma": "weight", "beta": "bias"}.get(leaf, leaf)
        sd[f"{head}.mlp.{idx[layer + '.' + k]}.{leaf}"] = p.asnumpy()
    assert "q.q_funcs.1.mlp.4.weight" in sd and "v.v_funcs.0.mlp.6.bias" in sd
    dst = _small().load_cleandiffuser_state_dict({"state_dict": sd})
    mine = dict(src.parameters_and_names())
    for n, p in dst.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), mine[n].asnumpy())


class _UsesQ(nn.Cell):
    def __init__(self, iql):
        super().__init__()
        self.iql = iql

    def construct(self, obs, act):
        return self.iql.q.min_q(obs, act).mean() + self.iql.v.min_v(obs).mean()


def test_graph_safe_calls_inside_a_compiled_cell():
    iql = _small()
    net = _UsesQ(iql)
    grad_fn = ms.value_and_grad(net, None, iql.q.trainable_params())
    obs = Tensor(np.ones((2, 3, OBS), np.float32))
    act = Tensor(np.zeros((2, 3, ACT), np.float32))
    value, grads = grad_fn(obs, act)
    expected = iql.forward_q(obs.asnumpy(), act.asnumpy()).mean() + iql.forward_v(
        obs.asnumpy()).mean()
    assert float(value.asnumpy()) == pytest.approx(float(expected), rel=1e-5)
    assert any(np.abs(g.asnumpy()).sum() > 0 for g in grads)
