"""The package ships its zoo: the default dataset's models, and every shipped model loads
with its metrics row; a missing or broken one fails."""
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


@pytest.mark.parametrize("kind, model_class, check", [("iql", Iql, check_iql),
                                                      ("invdyn", FancyMlpInvDynamic, check_invdyn)])
def test_default_model_ships_with_the_package(tmp_path, monkeypatch, kind, model_class, check):
    monkeypatch.setenv(model_zoo.ZOO_ENV_VAR, str(tmp_path))  # empty user zoo
    shipped = model_zoo.list_models(kind)[kind]
    assert model_zoo.default_dataset_id() in shipped, (
        f"the default {kind} model '{model_zoo.default_dataset_id()}' is not shipped in "
        f"mindspore_rl_ext/zoo (found: {shipped}); the package must ship it")
    check(*model_class.from_pretrained("default"))


SHIPPED = [(kind, path.parent.relative_to(model_zoo.SHIPPED_ZOO / kind).as_posix())
           for kind in model_zoo.KINDS
           for path in sorted((model_zoo.SHIPPED_ZOO / kind).rglob(model_zoo.PARAMS_FILE))]


def test_the_shipped_zoo_is_found():
    assert ("iql", model_zoo.default_dataset_id()) in SHIPPED


@pytest.mark.parametrize("kind, name", SHIPPED, ids=lambda x: str(x))
def test_every_shipped_model_loads_and_records_its_held_out_metrics(tmp_path, monkeypatch,
                                                                    kind, name):
    """Each model of mindspore_rl_ext/zoo loads by its dataset id and carries the metrics
    row its README quotes: V ranks held-out states (IQL), or a validation MSE (invdyn)."""
    monkeypatch.setenv(model_zoo.ZOO_ENV_VAR, str(tmp_path))  # empty user zoo
    model_class, check = {"iql": (Iql, check_iql), "invdyn": (FancyMlpInvDynamic, check_invdyn)}[kind]
    model, params = model_class.from_pretrained(name)
    check(model, params)
    assert params["training"]["dataset"] == name
    if kind == "iql":
        assert params["metrics"]["v_vs_mc"]["pearson_r"] > 0.5, params["metrics"]["v_vs_mc"]
