"""Inverse dynamics models (CleanDiffuser's cleandiffuser.invdynamic API)."""
import json
import math

import numpy as np
import pytest
from mindspore import Tensor, nn

from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.invdynamic import (BasicInvDynamic, FancyMlpInvDynamic, MlpInvDynamic,
                                         split_transitions)
from mindspore_rl_ext.pretrained import zoo as model_zoo
from mindspore_rl_ext.pretrained.zoo import ModelNotFoundError

OBS, ACT, H = 5, 3, 16


def _randomize(cell, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for name, p in cell.parameters_and_names():
        base = 1.0 if name.endswith("gamma") else 0.0
        p.set_data(Tensor((base + scale * rng.standard_normal(p.shape)).astype(np.float32)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _np_fancy(w, obs, next_obs, scale=1.0):
    """Reference: Linear -> LN(1e-5) -> GELU(tanh) -> [Dropout] -> Linear -> LN -> GELU ->
    Linear -> Tanh, times action_scale."""
    x = np.concatenate([obs, next_obs], -1).astype(np.float64)
    for i in range(3):
        x = x @ w[f"mlp.layers.{i}.weight"].T + w[f"mlp.layers.{i}.bias"]
        if i < 2:
            mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
            x = ((x - mu) / np.sqrt(var + 1e-5) * w[f"mlp.norms.{i}.gamma"]
                 + w[f"mlp.norms.{i}.beta"])
            x = _gelu_tanh(x)
    return np.tanh(x) * scale


def _weights(cell):
    return {n: p.asnumpy().astype(np.float64) for n, p in cell.parameters_and_names()}


def test_seed_example_and_leading_shapes():
    inv_dynamic = MlpInvDynamic(5, 3)
    rng = np.random.default_rng(0)
    obs, next_obs = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 5))
    assert inv_dynamic.predict(obs, next_obs).shape == (2, 4, 3)
    fancy = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H, action_scale=2.0)
    _randomize(fancy, scale=1.0)
    for lead in [(), (7,), (2, 4), (3, 1, 2)]:
        o = rng.standard_normal(lead + (OBS,)).astype(np.float32)
        o2 = rng.standard_normal(lead + (OBS,)).astype(np.float32)
        a = fancy.predict(o, o2)
        assert isinstance(a, np.ndarray) and a.shape == lead + (ACT,)
        assert np.abs(a).max() <= 2.0 and np.abs(a).max() > 1.0  # tanh * action_scale
        t = fancy.predict(Tensor(o), Tensor(o2))  # Tensor in -> Tensor out
        assert isinstance(t, Tensor) and tuple(t.shape) == lead + (ACT,)
    assert fancy.predict(np.zeros((4, 1, OBS)), np.zeros((1, 6, OBS))).shape == (4, 6, ACT)
    with pytest.raises(ConfigError, match="next_obs"):
        fancy.predict(np.zeros((2, OBS)), np.zeros((2, OBS + 1)))


def test_fancy_matches_reference_and_dropout_only_in_training():
    fancy = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H)
    _randomize(fancy, seed=1)
    assert all(c.epsilon == 1e-5 for _, c in fancy.cells_and_names() if isinstance(c, nn.LayerNorm))
    assert fancy.mlp.dropout_after == (True, False, False)  # one dropout, after block 1
    rng = np.random.default_rng(2)
    o = rng.standard_normal((64, OBS)).astype(np.float32)
    o2 = rng.standard_normal((64, OBS)).astype(np.float32)
    ref = _np_fancy(_weights(fancy), o, o2)
    np.testing.assert_allclose(fancy.predict(o, o2), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(fancy.predict(o, o2), fancy.predict(o, o2))
    fancy.set_train(True)
    train_out = fancy(Tensor(o), Tensor(o2)).asnumpy()
    assert not np.allclose(train_out, ref, atol=1e-4)  # dropout active in training mode
    np.testing.assert_allclose(fancy.predict(o, o2), ref, rtol=1e-4, atol=1e-5)  # eval again

    plain = MlpInvDynamic(OBS, ACT, hidden_dim=H, tanh_out_activation=False)
    _randomize(plain, seed=3, scale=1.0)
    w = _weights(plain)
    x = np.concatenate([o, o2], -1)
    for i in range(3):
        x = x @ w[f"mlp.layers.{i}.weight"].T + w[f"mlp.layers.{i}.bias"]
        x = np.maximum(x, 0) if i < 2 else x
    np.testing.assert_allclose(plain.predict(o, o2), x, rtol=1e-4, atol=1e-4)
    assert np.abs(x).max() > 1.0  # no tanh


def _linear_task(n, seed, sign=1.0):
    rng = np.random.default_rng(seed)
    o = rng.standard_normal((n, OBS)).astype(np.float32)
    o2 = rng.standard_normal((n, OBS)).astype(np.float32)
    a = np.tanh(sign * (o2[:, :ACT] - o[:, :ACT])).astype(np.float32)
    return {"obs": o, "act": a, "next_obs": o2}


def test_split_is_80_20_disjoint_and_seeded():
    d = {"obs": np.arange(1000, dtype=np.float32)[:, None]}
    train, val = split_transitions(d, 0.2, seed=0)
    assert len(val["obs"]) == 200 and len(train["obs"]) == 800
    assert not set(train["obs"][:, 0]) & set(val["obs"][:, 0])
    np.testing.assert_array_equal(split_transitions(d, 0.2, seed=0)[1]["obs"], val["obs"])
    assert not np.array_equal(split_transitions(d, 0.2, seed=1)[1]["obs"], val["obs"])


def test_early_stopping_stops_and_keeps_the_best(tmp_path):
    """Validation targets are the negated mapping: the better the fit on the training data,
    the worse the validation loss, so the best validation comes early and training stops
    `patience` validations later, restoring the best weights."""
    model = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H, lr=3e-3)
    train, val = _linear_task(512, 0), _linear_task(128, 1, sign=-1.0)
    val_every, patience = 10, 2
    hist = model.fit(train, val_data=val, batch_size=64, max_steps=2000, val_every=val_every,
                     patience=patience, ckpt_dir=str(tmp_path), log=None)
    assert hist["stopped_early"] and hist["steps"] < 2000
    val_losses = [v for _, v in hist["val"]]
    best_i = int(np.argmin(val_losses))
    assert hist["best_step"] == hist["val"][best_i][0]
    assert hist["best_val_loss"] == pytest.approx(val_losses[best_i])
    assert hist["steps"] == hist["best_step"] + patience * val_every
    assert max(val_losses) > hist["best_val_loss"]
    # the model holds the best weights, not the last ones ...
    assert model.validation_loss(val) == pytest.approx(hist["best_val_loss"], rel=1e-5)
    # ... and so does best.ckpt
    from mindspore_rl_ext.core.checkpoint import load_params
    best = load_params(str(tmp_path / "best.ckpt"))
    for n, p in model.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), best[n])


def test_fit_default_split_learns():
    model = MlpInvDynamic(OBS, ACT, hidden_dim=32, lr=3e-3)
    data = _linear_task(1000, 4)
    hist = model.fit(data, batch_size=100, max_steps=200, val_every=50, log=None)
    assert hist["steps"] == 200 and len(hist["val"]) == 4 and not hist["stopped_early"]
    assert hist["val"][-1][1] < 0.5 * hist["val"][0][1]
    _, val = split_transitions(data, 0.2, 0)  # the split fit() used (seed 0)
    assert model.validation_loss(val) == pytest.approx(hist["best_val_loss"], rel=1e-5)


def test_save_from_pretrained_identical(tmp_path):
    model = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H, add_dropout=False, action_scale=1.5)
    _randomize(model, seed=5)
    norm = {"mean": np.zeros(OBS), "std": np.full(OBS, 3.0)}
    folder = model.save_pretrained("toy/set-v0", zoo_dir=tmp_path, normalizer=norm)
    params = json.loads((folder / "params.json").read_text())
    assert params["config"] == {"obs_dim": OBS, "act_dim": ACT, "hidden_dim": H,
                                "tanh_out_activation": True, "action_scale": 1.5,
                                "add_norm": True, "add_dropout": False}
    loaded, lparams = FancyMlpInvDynamic.from_pretrained("toy/set-v0", zoo_dir=tmp_path)
    assert isinstance(loaded, FancyMlpInvDynamic) and not loaded.add_dropout
    assert lparams["normalizers"]["state"]["std"] == [3.0] * OBS
    o = np.random.default_rng(6).standard_normal((3, 4, OBS)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(o, o[::-1]), model.predict(o, o[::-1]))
    generic, _ = BasicInvDynamic.from_pretrained("toy/set-v0", zoo_dir=tmp_path)
    assert type(generic) is FancyMlpInvDynamic
    plain = MlpInvDynamic(OBS, ACT, hidden_dim=H)
    plain.save_pretrained("toy/plain-v0", zoo_dir=tmp_path)
    with pytest.raises(CheckpointError, match="MlpInvDynamic.from_pretrained"):
        FancyMlpInvDynamic.from_pretrained("toy/plain-v0", zoo_dir=tmp_path)


def test_missing_model_lists_zoo_and_command(tmp_path):
    MlpInvDynamic(OBS, ACT, hidden_dim=H).save_pretrained("toy/plain-v0", zoo_dir=tmp_path)
    with pytest.raises(ModelNotFoundError) as err:
        FancyMlpInvDynamic.from_pretrained("hopper-medium-v2", zoo_dir=tmp_path)
    msg = str(err.value)
    assert "hopper-medium-v2" in msg and "toy/plain-v0" in msg
    assert "pretrain_zoo" in msg and "--models invdyn" in msg



def test_cleandiffuser_state_dict_conversion():
    src = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H)
    _randomize(src, seed=7)
    cd_index = {"layers.0": "0", "norms.0": "1", "layers.1": "4", "norms.1": "5",
                "layers.2": "7"}
    sd = {}
    for name, p in src.parameters_and_names():
        _, layer, k, leaf = name.split(".")
        leaf = {"gamma": "weight", "beta": "bias"}.get(leaf, leaf)
        sd[f"mlp.{cd_index[layer + '.' + k]}.{leaf}"] = p.asnumpy()
    dst = FancyMlpInvDynamic(OBS, ACT, hidden_dim=H).load_cleandiffuser_state_dict(sd)
    mine = dict(src.parameters_and_names())
    for n, p in dst.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), mine[n].asnumpy())


def test_fit_resumes_exactly(tmp_path):
    """Interrupted after 2 validations, resumed to 4: same weights and history as one run
    (MlpInvDynamic: no dropout, so the run is deterministic)."""
    data = _linear_task(600, 8)
    kwargs = dict(batch_size=50, val_every=20, patience=5, seed=3, log=None)
    straight = MlpInvDynamic(OBS, ACT, hidden_dim=H, lr=3e-3)
    init = {n: p.asnumpy().copy() for n, p in straight.parameters_and_names()}
    ref = straight.fit(data, max_steps=80, **kwargs)
    first = MlpInvDynamic(OBS, ACT, hidden_dim=H, lr=3e-3)
    for n, p in first.parameters_and_names():
        p.set_data(Tensor(init[n]))
    first.fit(data, max_steps=40, ckpt_dir=str(tmp_path), **kwargs)
    second = MlpInvDynamic(OBS, ACT, hidden_dim=H, lr=3e-3)
    hist = second.fit(data, max_steps=80, ckpt_dir=str(tmp_path), **kwargs)
    assert [s for s, _ in hist["val"]] == [20, 40, 60, 80]
    np.testing.assert_allclose([v for _, v in hist["val"]], [v for _, v in ref["val"]],
                               rtol=1e-4)
    assert hist["best_step"] == ref["best_step"]
    mine = dict(straight.parameters_and_names())
    for n, p in second.parameters_and_names():
        np.testing.assert_allclose(p.asnumpy(), mine[n].asnumpy(), rtol=1e-4, atol=1e-6)
