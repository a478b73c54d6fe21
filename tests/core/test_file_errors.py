"""Damaged YAML configs, behaviour policies, zoo models and training states end in our own
error type, naming the file and what is wrong."""
import json
import zipfile

import numpy as np
import pytest

from mindspore_rl_ext.core.checkpoint import load_params, save_params
from mindspore_rl_ext.core.config import load_yaml
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, DatasetError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.data.behaviour import HEAD_KEYS, NumpyBehaviourPolicy
from mindspore_rl_ext.pretrained import zoo as model_zoo
from mindspore_rl_ext.pretrained.common import (STATE_CKPT, STATE_JSON, STEP_KEY,
                                                       load_train_state)

POLICY_META = {"env_id": "Hopper-v5", "level": "medium", "average_return": 1.0,
               "normalized_score": 1.0, "train_steps": 1, "seed": 0}


def test_read_errors_as_wraps_foreign_errors_and_keeps_ours():
    with pytest.raises(DatasetError, match=r"^'f.h5' is bad: RuntimeError: bad heap$") as err:
        with read_errors_as(DatasetError, "'f.h5' is bad"):
            raise RuntimeError("bad heap")
    assert isinstance(err.value.__cause__, RuntimeError)
    own = ConfigError("'c.yaml': unknown key 'x'")
    with pytest.raises(ConfigError) as err:
        with read_errors_as(DatasetError, "never used"):
            raise own
    assert err.value is own


# ----------------------------------------------------------------------------- YAML
@pytest.mark.parametrize("text", [
    "seed: 2001-02-30\n",  # a date that does not exist: ValueError inside PyYAML
    "seed: !!int abc\n",  # ValueError too
    "seed: [unclosed\n",  # a YAMLError
    "seed: \udcff\n",  # not UTF-8
])
def test_unreadable_yaml_names_the_file(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError, match="is not valid YAML") as err:
        load_yaml(str(path))
    assert str(path) in str(err.value)


# ----------------------------------------------------------------------------- policies
def policy_file(tmp_path, drop=None, **entries):
    """A valid 1-layer policy .npz, with entries replaced or (drop) removed."""
    rng = np.random.default_rng(0)
    arrays = {"trunk_w0": rng.normal(size=(11, 8)), "trunk_b0": np.zeros(8),
              "mean_w": rng.normal(size=(8, 3)), "log_std_w": rng.normal(size=(8, 3))}
    arrays.update({key: np.ones(3) for key in HEAD_KEYS if key not in arrays})
    arrays = {key: value.astype(np.float32) for key, value in arrays.items()}
    arrays["metadata_json"] = np.array(json.dumps(POLICY_META))
    arrays.update(entries)
    arrays.pop(drop, None)
    path = tmp_path / "hopper_medium.npz"
    np.savez(path, **arrays)
    return path


def test_valid_policy_file_loads(tmp_path):
    assert NumpyBehaviourPolicy.load(policy_file(tmp_path)).act_dim == 3


@pytest.mark.parametrize("damage, match", [
    (lambda raw: raw[:len(raw) // 2], "not a readable .npz policy file"),
    (lambda raw: raw[:100] + b"\xff" * 64 + raw[164:], "not a readable .npz policy file"),
    (lambda raw: b"", "not a readable .npz policy file"),
])
def test_damaged_policy_file_names_it(tmp_path, damage, match):
    path = policy_file(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError, match=match) as err:
        NumpyBehaviourPolicy.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("drop, entries, match", [
    ("mean_w", {}, r"missing keys \['mean_w'\]"),
    ("metadata_json", {}, "has no 'metadata_json' entry"),
    (None, {"metadata_json": np.array("{not json")}, "'metadata_json' is not valid JSON"),
    (None, {"metadata_json": np.array("[1, 2]")}, "metadata must be a JSON object"),
    (None, {"metadata_json": np.array("[" * 100_000)}, "'metadata_json' is not valid JSON"),
    (None, {"trunk_w0": np.zeros((11, 8))}, "'trunk_w0' has dtype float64, expected float32"),
    (None, {"trunk_b0": np.zeros(5, np.float32)}, "do not chain"),
])
def test_malformed_policy_file_names_it_and_the_key(tmp_path, drop, entries, match):
    path = policy_file(tmp_path, drop, **entries)
    with pytest.raises(DatasetError, match=match) as err:
        NumpyBehaviourPolicy.load(path)
    assert str(path) in str(err.value)


def test_policy_file_that_is_not_an_npz(tmp_path):
    npy = tmp_path / "hopper_medium.npz"
    with open(npy, "wb") as f:  # a plain .npy under the .npz name: np.load gives an array
        np.save(f, np.zeros(3))
    with pytest.raises(DatasetError, match="not a readable .npz policy file") as err:
        NumpyBehaviourPolicy.load(npy)
    assert str(npy) in str(err.value)
    with zipfile.ZipFile(npy, "w") as z:  # a zip whose member is not an array
        z.writestr("trunk_w0.npy", b"\x93NUMPY garbage")
    with pytest.raises(DatasetError, match="not a readable .npz policy file"):
        NumpyBehaviourPolicy.load(npy)


# ----------------------------------------------------------------------------- zoo models
@pytest.fixture
def zoo_model(tmp_path):
    """A tiny saved Iql zoo model: (zoo folder, model folder)."""
    from mindspore_rl_ext.utils.valuefuncs import Iql

    folder = Iql(5, 3, hidden_dim=8).save_pretrained("t/x-v0", zoo_dir=tmp_path)
    return tmp_path, folder


def edit_params(folder, edit):
    path = folder / model_zoo.PARAMS_FILE
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda p: [p], "holds a JSON list, expected an object"),
    (lambda p: {**p, "model_class": ["Iql"]}, "'model_class' is \\['Iql'\\], expected a string"),
    (lambda p: {**p, "weights": "../model.ckpt"}, "expected a file name inside the model"),
    (lambda p: {**p, "normalizers": {"state": {"mean": "abc", "std": [1.0] * 5}}},
     "normalizers.state.mean/std must be lists"),
    (lambda p: {**p, "normalizers": {"state": {"mean": [0.0] * 5, "std": [0.0] * 5}}},
     "std > 0"),
    (lambda p: {**p, "normalizers": {"state": {"mean": [0.0] * 5, "std": [1.0] * 4}}},
     r"got shapes \(5,\) / \(4,\)"),
])
def test_malformed_params_json_names_it(zoo_model, edit, match):
    _, folder = zoo_model
    path = edit_params(folder, edit)
    with pytest.raises(CheckpointError, match=match) as err:
        model_zoo.weights_path(folder, model_zoo.read_params(folder, "iql"))
    assert str(path) in str(err.value)


def test_params_json_that_is_not_json_or_utf8(zoo_model):
    _, folder = zoo_model
    path = folder / model_zoo.PARAMS_FILE
    for raw in (b'{"config": ', b"\xff\xfe{}", b"[" * 100_000):
        path.write_bytes(raw)
        with pytest.raises(CheckpointError, match="is not valid JSON") as err:
            model_zoo.read_params(folder)
        assert str(path) in str(err.value)


def test_bad_config_in_params_json_names_it(zoo_model):
    from mindspore_rl_ext.utils.valuefuncs import Iql

    zoo, folder = zoo_model
    path = edit_params(folder, lambda p: {**p, "config": {**p["config"], "hidden_dim": -4}})
    with pytest.raises(CheckpointError, match="bad config") as err:
        Iql.from_pretrained("t/x-v0", zoo_dir=zoo)
    assert str(path) in str(err.value)


def test_truncated_weights_without_a_hash_name_the_file(zoo_model):
    _, folder = zoo_model
    edit_params(folder, lambda p: {k: v for k, v in p.items() if k != "weights_sha256"})
    weights = folder / model_zoo.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-7])
    path = model_zoo.weights_path(folder, model_zoo.read_params(folder, "iql"))
    with pytest.raises(CheckpointError) as err:
        load_params(str(path))
    assert str(weights) in str(err.value)


# ----------------------------------------------------------------------------- train state
@pytest.mark.parametrize("text", ["[1, 2]", '{"step": "ten"}', '{"fingerprint": 1}', "{",
                                  "\udcff"])
def test_malformed_train_state_json_names_it(tmp_path, text):
    path = tmp_path / STATE_JSON
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(CheckpointError) as err:
        load_train_state(tmp_path, trainer=None, fingerprint={"n": 1})
    assert str(path) in str(err.value)


def test_train_state_step_that_is_not_a_scalar(tmp_path):
    save_params([], str(tmp_path / STATE_CKPT), extra={STEP_KEY: np.arange(3)})
    (tmp_path / STATE_JSON).write_text(json.dumps({"step": 3, "fingerprint": {"n": 1}}))
    with pytest.raises(CheckpointError, match="from different steps"):
        load_train_state(tmp_path, trainer=None, fingerprint={"n": 1})
