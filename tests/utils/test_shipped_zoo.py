"""The package ships its zoo: the default dataset's models, and every shipped model loads
with its metrics row; a missing or broken one fails; their V-vs-MC curves plot."""
import numpy as np
import pytest

from mindspore_rl_ext.invdynamic import FancyMlpInvDynamic
from mindspore_rl_ext.pretrained import zoo as model_zoo
from mindspore_rl_ext.utils.valuefuncs import Iql


def check_iql(model, params):
    assert params["config"]["hidden_dim"] == 512 and params["metrics"]
    obs = model_zoo.normalize_obs(np.zeros((4, model.obs_dim)), params)
    q = model.forward_q(obs, np.zeros((4, model.act_dim), np.float32))
    assert q.shape == (4, 1) and np.isfinite(q).all()


def check_invdyn(model, params):
    assert params["metrics"]["val_mse"] < 0.2
    obs = model_zoo.normalize_obs(np.zeros((2, 4, model.obs_dim)), params)
    assert model.predict(obs, obs).shape == (2, 4, model.act_dim)


MODELS = {"iql": (Iql, check_iql), "invdyn": (FancyMlpInvDynamic, check_invdyn)}
SHIPPED = [(kind, name) for kind in model_zoo.KINDS
           for name in model_zoo._models_in(model_zoo.SHIPPED_ZOO, kind)]


@pytest.fixture
def empty_user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv(model_zoo.ZOO_ENV_VAR, str(tmp_path))


@pytest.mark.parametrize("kind", model_zoo.KINDS)
def test_default_model_ships_with_the_package(empty_user_zoo, kind):
    shipped = model_zoo.list_models(kind)[kind]
    assert model_zoo.default_dataset_id() in shipped, (
        f"the default {kind} model '{model_zoo.default_dataset_id()}' is not shipped in "
        f"mindspore_rl_ext/zoo (found: {shipped}); the package must ship it")
    model_class, check = MODELS[kind]
    check(*model_class.from_pretrained("default"))


def test_the_shipped_zoo_is_found():
    assert ("iql", model_zoo.default_dataset_id()) in SHIPPED


@pytest.mark.parametrize("kind, name", SHIPPED, ids=lambda x: str(x))
def test_every_shipped_model_loads_and_records_its_held_out_metrics(empty_user_zoo, kind,
                                                                    name):
    """Each model of mindspore_rl_ext/zoo loads by its dataset id and carries the metrics
    row its README quotes: V ranks held-out states (IQL), or a validation MSE (invdyn)."""
    model_class, check = MODELS[kind]
    model, params = model_class.from_pretrained(name)
    check(model, params)
    assert params["training"]["dataset"] == name
    if kind == "iql":
        assert params["metrics"]["v_vs_mc"]["pearson_r"] > 0.5, params["metrics"]["v_vs_mc"]


def test_plot_draws_the_shipped_curves_and_names_the_zoo_without_any(empty_user_zoo,
                                                                   tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert model_zoo.main(["--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plotted = capsys.readouterr().out.splitlines()[0]
    assert "msrl_ext/hopper/medium-replay-v0" in plotted  # trained with a curve
    assert "random-v0" not in plotted  # trained without one
    empty = tmp_path / "empty_zoo"
    empty.mkdir()
    assert model_zoo.main(["--zoo-dir", str(empty), "--plot", str(tmp_path / "x.png")]) == 2
    assert str(empty) in capsys.readouterr().err and not (tmp_path / "x.png").exists()
