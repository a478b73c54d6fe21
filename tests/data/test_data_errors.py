"""Every bad input ends in a DatasetError that names the file, key or argument."""
import dataclasses
import json

import gymnasium as gym
import h5py
import numpy as np
import pytest

from helpers import synthetic_dataset
from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5, save_d4rl_hdf5
from mindspore_rl_ext.data.generate import generate_dataset
from mindspore_rl_ext.data.minari_io import load_minari, write_minari
from mindspore_rl_ext.data.scores import normalized_score


def small_dataset():
    return synthetic_dataset(n=60, episode_len=20)


def d4rl_file(path, **overrides):
    """A valid 10-row D4RL file (no next_observations), with some keys replaced or removed."""
    data = {"observations": np.zeros((10, 11), np.float32), "actions": np.zeros((10, 3), np.float32),
            "rewards": np.zeros(10, np.float32), "terminals": np.zeros(10, bool),
            "timeouts": np.zeros(10, bool)}
    data.update(overrides)
    with h5py.File(path, "w") as f:
        for key, value in data.items():
            if value is not None:
                f[key] = value
    return path


def test_unknown_minari_id_lists_local_ids_and_the_command(tmp_path):
    generate_dataset("hopper", "random", steps=30, seed=0, dataset_root=tmp_path, progress=False)
    with pytest.raises(DatasetError) as err:
        load_minari("msrl_ext/walker2d/medium-v0", tmp_path)
    message = str(err.value)
    assert "msrl_ext/hopper/random-v0" in message
    assert "python -m mindspore_rl_ext.data.generate --env walker2d --level medium" in message
    with pytest.raises(DatasetError, match="does not exist"):
        load_minari("msrl_ext/hopper/random-v0", tmp_path / "nowhere")


def test_malformed_and_reserved_ids_are_refused(tmp_path):
    env = gym.make("Hopper-v5")
    for bad, match in (("mujoco/hopper/medium-v0", "official"), ("no version", "malformed")):
        with pytest.raises(DatasetError, match=match):
            write_minari(bad, [], env, dataset_root=tmp_path)
    with pytest.raises(DatasetError, match="both ref_min_score and ref_max_score"):
        write_minari("msrl_ext/x/y-v0", [], env, dataset_root=tmp_path, ref_min_score=0.0)


@pytest.mark.parametrize("args, match", [
    (("cartpole", "random", 10), "--env 'cartpole'"),
    (("hopper", "medium-replay", 10), "medium-replay needs --from-transitions"),
    (("hopper", "replay", 10), "--level 'replay'"),
    (("hopper", "random", 0), "--steps must be a positive integer"),
])
def test_generate_rejects_bad_arguments(tmp_path, args, match):
    with pytest.raises(DatasetError, match=match):
        generate_dataset(*args, dataset_root=tmp_path, progress=False)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_d4rl_hdf5(tmp_path / "absent.hdf5")


def test_non_hdf5_file(tmp_path):
    path = tmp_path / "notes.hdf5"
    path.write_text("observations,actions\n1,2\n")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        load_d4rl_hdf5(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "full.hdf5"
    save_d4rl_hdf5(small_dataset(), path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="truncated"):
        load_d4rl_hdf5(path)


def test_missing_key_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no dataset 'timeouts'"):
        load_d4rl_hdf5(d4rl_file(tmp_path / "a.hdf5", timeouts=None))


@pytest.mark.parametrize("key, value, match", [
    ("observations", np.zeros((10, 11), np.int64), "'observations' has dtype int64, expected a float"),
    ("terminals", np.array([b"no"] * 10), "'terminals' has dtype .*expected bool"),
    ("terminals", np.full(10, 2, np.int8), "'terminals' holds values other than 0 and 1"),
    ("actions", np.zeros(10, np.float32), r"'actions' has shape \(10,\), expected \(N, dim\)"),
    ("rewards", np.zeros(9, np.float32), r"'rewards' has shape \(9,\), expected \(N,\) with N=10"),
    ("next_observations", np.zeros((10, 5), np.float32), "'next_observations' has shape"),
    ("observations", np.zeros((0, 11), np.float32), "N > 0"),
])
def test_wrong_dtype_or_shape_is_named(tmp_path, key, value, match):
    with pytest.raises(DatasetError, match=match):
        load_d4rl_hdf5(d4rl_file(tmp_path / "a.hdf5", **{key: value}))


def test_nan_is_refused(tmp_path):
    obs = np.zeros((10, 11), np.float32)
    obs[4, 2] = np.nan
    with pytest.raises(DatasetError, match="'observations' contains NaN or Inf .*row 4"):
        load_d4rl_hdf5(d4rl_file(tmp_path / "a.hdf5", observations=obs))


def test_dims_that_do_not_match_the_env():
    ds = small_dataset()
    ds.check_env_dims(gym.make("Hopper-v5"))
    with pytest.raises(DatasetError, match="obs_dim 11 and act_dim 3, but env Walker2d-v5"):
        ds.check_env_dims(gym.make("Walker2d-v5"))


def test_validate_names_the_bad_field():
    ds = small_dataset()
    with pytest.raises(DatasetError, match="'actions' must be a float32"):
        dataclasses.replace(ds, actions=ds.actions.astype(np.float64)).validate()
    with pytest.raises(DatasetError, match="'episode_ends'"):
        dataclasses.replace(ds, episode_ends=np.array([30, 60], np.int64)).validate()


def test_scores_need_references():
    ds = dataclasses.replace(small_dataset(), ref_min_score=None)
    with pytest.raises(DatasetError, match="no reference scores"):
        ds.normalized_score(100.0)
    with pytest.raises(DatasetError, match="no D4RL reference scores for env 'CartPole-v1'"):
        normalized_score("CartPole-v1", 1.0)


# ----------------------------------------------------------------------------- .npz files
def npz_file(path, drop=None, **entries):
    """A valid 10-row D4RL .npz (no next_observations), with entries replaced or removed."""
    data = {"observations": np.zeros((10, 11), np.float32),
            "actions": np.zeros((10, 3), np.float32), "rewards": np.zeros(10, np.float32),
            "terminals": np.zeros(10, bool), "timeouts": np.zeros(10, bool),
            "metadata": np.array('{"env_id": "Hopper-v5"}')}
    data.update(entries)
    data.pop(drop, None)
    np.savez(path, **data)
    return path


def test_valid_npz_file_loads(tmp_path):
    assert load_d4rl_hdf5(npz_file(tmp_path / "d.npz")).env_id == "Hopper-v5"


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:len(raw) // 2],
    lambda raw: raw[:200] + b"\x01" * 32 + raw[232:],
    lambda raw: raw[:-1],
    lambda raw: b"",
])
def test_damaged_npz_file_names_it(tmp_path, damage):
    path = npz_file(tmp_path / "d.npz")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError, match="not a readable .npz file") as err:
        load_d4rl_hdf5(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("drop, entries, match", [
    ("timeouts", {}, "has no dataset 'timeouts'"),
    (None, {"metadata": np.array("{oops")}, "'metadata' is not valid JSON"),
    (None, {"metadata": np.array("[1]")}, "'metadata' holds a JSON list, expected a JSON object"),
    (None, {"metadata": np.array('{"env_id": 5}')}, "attribute 'env_id' is 5, expected a string"),
    (None, {"rewards": np.array([b"x"] * 10)}, "'rewards' has dtype .*expected a float"),
])
def test_malformed_npz_file_names_it_and_the_key(tmp_path, drop, entries, match):
    path = npz_file(tmp_path / "d.npz", drop, **entries)
    with pytest.raises(DatasetError, match=match) as err:
        load_d4rl_hdf5(path)
    assert str(path) in str(err.value)


def test_npy_or_pickle_under_an_npz_name(tmp_path):
    path = tmp_path / "d.npz"
    with open(path, "wb") as f:  # np.load returns an array, not an archive
        np.save(f, np.zeros(3))
    with pytest.raises(DatasetError, match="not a readable .npz file"):
        load_d4rl_hdf5(path)
    npz_file(path, observations=np.array([{"a": 1}] * 10, dtype=object))  # needs pickle
    with pytest.raises(DatasetError, match="not a readable .npz file") as err:
        load_d4rl_hdf5(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("attrs, match", [
    ({"env_id": np.arange(2)}, "attribute 'env_id' is .*expected a string"),
    ({"env_id": 3}, "attribute 'env_id' is 3, expected a string"),
    ({"metadata_json": "{oops"}, "'metadata_json' is not valid JSON"),
    ({"metadata_json": "[]"}, "'metadata_json' holds a JSON list"),
    ({"ref_min_score": "low", "ref_max_score": 1.0},
     "'ref_min_score' and 'ref_max_score' must be"),
])
def test_malformed_hdf5_attributes_are_named(tmp_path, attrs, match):
    path = d4rl_file(tmp_path / "a.hdf5")
    with h5py.File(path, "a") as f:
        f.attrs.update(attrs)
    with pytest.raises(DatasetError, match=match) as err:
        load_d4rl_hdf5(path)
    assert str(path) in str(err.value)


def test_header_claiming_more_than_the_file_holds(tmp_path):
    """A damaged header may claim terabytes: refused before h5py tries to allocate them."""
    path = d4rl_file(tmp_path / "a.hdf5", observations=None)
    with h5py.File(path, "a") as f:  # storage is never written, so the file stays small
        f.create_dataset("observations", shape=(10, 10**12), dtype=np.float32, chunks=(1, 1024))
    with pytest.raises(DatasetError, match="dataset '/observations' claims shape") as err:
        load_d4rl_hdf5(path)
    assert str(path) in str(err.value)


# ----------------------------------------------------------------------------- Minari files
@pytest.fixture
def minari_root(tmp_path):
    generate_dataset("hopper", "random", steps=30, seed=0, dataset_root=tmp_path, progress=False)
    return tmp_path, tmp_path / "msrl_ext/hopper/random-v0/data"


@pytest.mark.parametrize("name", ["metadata.json", "main_data.hdf5"])
def test_missing_minari_file_is_named(minari_root, name):
    root, data = minari_root
    (data / name).unlink()
    with pytest.raises(DatasetError, match="is incomplete") as err:
        load_minari("msrl_ext/hopper/random-v0", root)
    assert str(data / name) in str(err.value)


@pytest.mark.parametrize("edit, match", [
    (lambda m: [m], "metadata file .* is damaged or not Minari's: AttributeError"),
    (lambda m: {**m, "observation_space": 5}, "metadata file .* is damaged or not Minari's"),
    (lambda m: {**m, "ref_min_score": "low"}, "'ref_min_score' is 'low', expected a number"),
])
def test_malformed_minari_metadata_is_named(minari_root, edit, match):
    root, data = minari_root
    path = data / "metadata.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(DatasetError, match=match) as err:
        load_minari("msrl_ext/hopper/random-v0", root)
    assert str(path) in str(err.value)


def test_minari_header_claiming_more_than_the_file_holds(minari_root):
    root, data = minari_root
    with h5py.File(data / "main_data.hdf5", "a") as f:
        del f["episode_0/rewards"]
        f.create_dataset("episode_0/rewards", shape=(10**13,), dtype=np.float64, chunks=(1024,))
    with pytest.raises(DatasetError, match="'/episode_0/rewards' claims shape") as err:
        load_minari("msrl_ext/hopper/random-v0", root)
    assert str(data / "main_data.hdf5") in str(err.value)
