"""The one reward-transform registry (data/transforms.py) and both algorithms' configs."""
import numpy as np
import pytest

from mindspore_rl_ext.algorithms.diffusion_ql.config import load_config as load_dql_config
from mindspore_rl_ext.algorithms.iql.config import load_config as load_iql_config
from mindspore_rl_ext.core.errors import ConfigError, DatasetError
from mindspore_rl_ext.data.transforms import (LEGACY_NAMES, REWARD_TRANSFORMS,
                                              reward_transform_name, transform_rewards)

REWARDS = np.random.default_rng(0).normal(0.3, 2.0, 257).astype(np.float32)
RETURNS = np.array([12.5, -3.0, 40.25, 7.0])

# independent NumPy computations, in float64, of every registry entry
EXPECTED = {
    "none": lambda r, ret: r.astype(np.float64),
    "iql_locomotion": lambda r, ret: r.astype(np.float64) * 1000.0 / (ret.max() - ret.min()),
    "iql_antmaze": lambda r, ret: r.astype(np.float64) - 1.0,
    "cql_antmaze": lambda r, ret: (r.astype(np.float64) - 0.5) * 4.0,
    "dql_antmaze": lambda r, ret: (r.astype(np.float64) - 0.25) * 2.0,
    "normalize": lambda r, ret: (r.astype(np.float64) - r.astype(np.float64).mean())
    / r.astype(np.float64).std(),
}


def test_registry_has_exactly_the_documented_entries():
    assert set(REWARD_TRANSFORMS) == set(EXPECTED)
    for name, (function, description) in REWARD_TRANSFORMS.items():
        assert callable(function) and isinstance(description, str) and description, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_entry_matches_numpy(name):
    out = transform_rewards(REWARDS, RETURNS, name)
    assert out.dtype == np.float32 and out.shape == REWARDS.shape
    np.testing.assert_allclose(out, EXPECTED[name](REWARDS, RETURNS), rtol=1e-6, atol=1e-5)


def test_none_returns_a_copy():
    out = transform_rewards(REWARDS, RETURNS, "none")
    out[0] += 1.0
    assert out[0] != REWARDS[0]


@pytest.mark.parametrize("old,new", sorted(LEGACY_NAMES.items()))
def test_legacy_aliases(old, new):
    assert reward_transform_name(old) == new
    np.testing.assert_array_equal(transform_rewards(REWARDS, RETURNS, old),
                                  transform_rewards(REWARDS, RETURNS, new))


def test_legacy_names_are_exactly_mujoco_and_no():
    assert LEGACY_NAMES == {"mujoco": "iql_locomotion", "no": "none"}


def test_ambiguous_antmaze_names_both_meanings():
    with pytest.raises(ConfigError) as err:
        transform_rewards(REWARDS, RETURNS, "antmaze")
    message = str(err.value)
    assert "ambiguous" in message
    assert "iql_antmaze" in message and "r - 1" in message
    assert "dql_antmaze" in message and "(r - 0.25) * 2" in message


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        transform_rewards(REWARDS, RETURNS, "scaled")
    message = str(err.value)
    assert "'scaled'" in message
    for name in REWARD_TRANSFORMS:
        assert name in message


def test_iql_locomotion_needs_a_return_spread():
    with pytest.raises(DatasetError, match=r"iql_locomotion.*max - min return is 0\.0.*'none'"):
        transform_rewards(REWARDS, np.array([5.0, 5.0]), "iql_locomotion")


# ----------------------------------------------------------------------------- configs
def write(tmp_path, text, name="o.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_iql_config_takes_registry_names(tmp_path):
    assert load_iql_config()["dataset_params"]["reward_transform"] == "iql_locomotion"
    cfg = load_iql_config(write(tmp_path, "dataset_params:\n  reward_transform: cql_antmaze\n"))
    assert cfg["dataset_params"]["reward_transform"] == "cql_antmaze"
    cfg = load_iql_config(write(tmp_path, "dataset_params:\n  reward_transform: mujoco\n"))
    assert cfg["dataset_params"]["reward_transform"] == "iql_locomotion"  # canonicalised


def test_iql_config_rejects_unknown_and_ambiguous(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset_params\.reward_transform.*'bogus'.*none"):
        load_iql_config(write(tmp_path, "dataset_params:\n  reward_transform: bogus\n"))
    with pytest.raises(ConfigError, match="iql_antmaze.*dql_antmaze"):
        load_iql_config(write(tmp_path, "dataset_params:\n  reward_transform: antmaze\n"))


def test_dql_config_takes_registry_names():
    assert load_dql_config(overrides={"env_name": "antmaze-umaze-v0"})[
        "dataset_params"]["reward_tune"] == "cql_antmaze"
    assert load_dql_config(overrides={"env_name": "walker2d-medium-v2"})[
        "dataset_params"]["reward_tune"] == "none"
    cfg = load_dql_config(overrides={"dataset_params": {"reward_tune": "iql_locomotion"}})
    assert cfg["dataset_params"]["reward_tune"] == "iql_locomotion"


def test_dql_config_rejects_unknown_name():
    with pytest.raises(ConfigError, match=r"dataset_params\.reward_tune.*'bogus'.*dql_antmaze"):
        load_dql_config(overrides={"dataset_params": {"reward_tune": "bogus"}})
