"""Generate tiny datasets, read them back through minari, our loader and a D4RL file."""
import dataclasses
import json
import os

import gymnasium as gym
import h5py
import minari
import numpy as np
import pytest

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5, save_d4rl_hdf5
from mindspore_rl_ext.data.default_dataset import (DEFAULT_DATASET_ID, cache_root, default_dataset,
                                                   load_dataset)
from mindspore_rl_ext.data.generate import generate_dataset, main
from mindspore_rl_ext.data import minari_io
from mindspore_rl_ext.data.minari_io import datasets_root, load_minari, write_minari

ARRAYS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts",
          "episode_ends")
HOPPER_ID = "msrl_ext/hopper/random-v0"


def assert_same(a, b):
    for key in ARRAYS:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


@pytest.fixture(scope="module")
def hopper_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("minari")
    generate_dataset("hopper", "random", steps=300, seed=0, dataset_root=root, progress=False)
    return root


def test_generated_dataset_matches_minari_episodes(hopper_root):
    ds = load_minari(HOPPER_ID, hopper_root)
    assert len(ds) == 300 and ds.obs_dim == 11 and ds.act_dim == 3
    assert ds.env_id == "Hopper-v5"
    assert (ds.ref_min_score, ds.ref_max_score) == (-20.272305, 3234.3)
    assert ds.metadata["msrl_ext"]["seed"] == 0 and ds.metadata["msrl_ext"]["level"] == "random"
    assert ds.metadata["msrl_ext"]["package_version"]
    with datasets_root(hopper_root):
        episodes = list(minari.load_dataset(HOPPER_ID).iterate_episodes())
    start = 0
    for ep, end in zip(episodes, ds.episode_ends, strict=True):
        np.testing.assert_array_equal(ds.observations[start:end], ep.observations[:-1].astype(np.float32))
        np.testing.assert_array_equal(ds.next_observations[start:end], ep.observations[1:].astype(np.float32))
        np.testing.assert_array_equal(ds.actions[start:end], ep.actions)
        np.testing.assert_array_equal(ds.rewards[start:end], ep.rewards.astype(np.float32))
        np.testing.assert_array_equal(ds.terminals[start:end], ep.terminations)
        np.testing.assert_array_equal(ds.timeouts[start:end], ep.truncations)
        start = end
    assert episodes[-1].truncations[-1], "the step budget cuts the last episode as a truncation"
    assert np.abs(ds.actions).max() <= 1.0
    np.testing.assert_allclose(ds.episode_returns().sum(), ds.rewards.sum(dtype=np.float64), rtol=1e-6)


def test_episodes_are_read_in_batches(hopper_root, monkeypatch):
    whole = load_minari(HOPPER_ID, hopper_root)
    monkeypatch.setattr(minari_io, "_EPISODES_PER_READ", 3)
    assert len(whole.episode_ends) > 3
    assert_same(load_minari(HOPPER_ID, hopper_root), whole)


def test_d4rl_file_round_trip(hopper_root, tmp_path):
    ds = load_minari(HOPPER_ID, hopper_root)
    path = tmp_path / "hopper.hdf5"
    save_d4rl_hdf5(ds, path)
    back = load_d4rl_hdf5(path)
    assert_same(ds, back)
    assert (back.env_id, back.ref_min_score, back.ref_max_score) == (ds.env_id, -20.272305, 3234.3)
    assert back.metadata["msrl_ext"]["seed"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["hopper.hdf5"], "no temp file left"


def test_d4rl_file_without_next_observations_uses_qlearning_semantics(tmp_path):
    # rows: episode A = 0,1,2 (row 2 is a timeout -> dropped), episode B = 3,4 (terminal at 4),
    # episode C = 5,6 (row 6 is the last row -> dropped)
    obs = np.arange(7, dtype=np.float64)[:, None] * np.ones((1, 2))
    terminals = np.array([0, 0, 0, 0, 1, 0, 0], bool)
    timeouts = np.array([0, 0, 1, 0, 0, 0, 0], bool)
    path = tmp_path / "walker2d_medium-v2.hdf5"
    with h5py.File(path, "w") as f:
        f["observations"], f["actions"] = obs, np.zeros((7, 1))
        f["rewards"], f["terminals"], f["timeouts"] = np.arange(7.0), terminals, timeouts
    ds = load_d4rl_hdf5(path)
    np.testing.assert_array_equal(ds.observations[:, 0], [0, 1, 3, 4, 5])
    np.testing.assert_array_equal(ds.next_observations[:, 0], [1, 2, 4, 5, 6])
    np.testing.assert_array_equal(ds.terminals, [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(ds.timeouts, [0, 1, 0, 0, 1])
    np.testing.assert_array_equal(ds.episode_ends, [2, 4, 5])
    np.testing.assert_array_equal(ds.episode_returns(), [1, 7, 5])
    assert (ds.ref_min_score, ds.ref_max_score) == (1.629008, 4592.3), "refs from the file name"


def test_generation_is_deterministic_for_a_seed(hopper_root, tmp_path):
    again = generate_dataset("hopper", "random", steps=300, seed=0, dataset_root=tmp_path,
                             progress=False)
    assert_same(load_minari(HOPPER_ID, hopper_root), load_minari(HOPPER_ID, tmp_path))
    other = "msrl_ext/hopper/random-seed1-v0"
    generate_dataset("hopper", "random", steps=300, seed=1, dataset_root=tmp_path,
                     dataset_id=other, progress=False)
    assert again.is_dir()
    assert not np.array_equal(load_minari(other, tmp_path).actions,
                              load_minari(HOPPER_ID, tmp_path).actions)


def test_existing_id_needs_force_and_failed_write_leaves_nothing(tmp_path):
    generate_dataset("hopper", "random", steps=50, seed=0, dataset_root=tmp_path, progress=False)
    with pytest.raises(DatasetError, match="already exists.*--force"):
        generate_dataset("hopper", "random", steps=50, seed=0, dataset_root=tmp_path, progress=False)
    generate_dataset("hopper", "random", steps=60, seed=0, dataset_root=tmp_path, force=True,
                     progress=False)
    assert len(load_minari(HOPPER_ID, tmp_path)) == 60

    def broken_episodes():
        raise RuntimeError("collection crashed")
        yield

    env = gym.make("Hopper-v5")
    with pytest.raises(RuntimeError, match="collection crashed"):
        write_minari("msrl_ext/hopper/broken-v0", broken_episodes(), env, dataset_root=tmp_path,
                     ref_min_score=0.0, ref_max_score=1.0, description="broken",
                     algorithm_name="none")
    assert not (tmp_path / "msrl_ext/hopper/broken-v0").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["msrl_ext"], "no temp root left"


def test_cli_writes_a_dataset(tmp_path, capsys):
    assert main(["--env", "walker2d", "--level", "random", "--steps", "40",
                 "--dataset-root", str(tmp_path), "--no-progress"]) == 0
    assert "msrl_ext/walker2d/random-v0: 40 steps" in capsys.readouterr().out
    ds = load_minari("msrl_ext/walker2d/random-v0", tmp_path)
    assert (ds.obs_dim, ds.act_dim, ds.env_id) == (17, 6, "Walker2d-v5")
    assert main(["--env", "walker2d", "--level", "expert", "--steps", "40",
                 "--dataset-root", str(tmp_path), "--policy-dir", str(tmp_path)]) == 2
    assert "no behaviour policy 'walker2d_expert'" in capsys.readouterr().err


def test_default_dataset_is_imported_once_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MSRL_EXT_DATA_ROOT", str(tmp_path))
    ds = default_dataset()
    assert ds.source == DEFAULT_DATASET_ID == "msrl_ext/hopper/medium-replay-v0"
    assert len(ds) == 115_000 and len(ds.episode_ends) == 1043 and ds.env_id == "Hopper-v5"
    # every quality at once: many falls, some long hopping episodes
    assert ds.terminals.sum() > 900 and ds.episode_returns().max() > 1500
    assert ds.metadata["msrl_ext"]["source_file"] == "hopper_medium_replay.npz"

    def no_generation(*args, **kwargs):
        raise AssertionError("imported again")

    monkeypatch.setattr("mindspore_rl_ext.data.generate.generate_dataset", no_generation)
    assert_same(load_dataset("default"), ds)
    assert cache_root() == tmp_path


def test_load_dataset_dispatches_on_the_spec(hopper_root, tmp_path):
    ds = load_dataset(HOPPER_ID, dataset_root=hopper_root, env_id="Hopper-v5")
    save_d4rl_hdf5(ds, tmp_path / "x.h5")
    assert_same(load_dataset(os.fspath(tmp_path / "x.h5")), ds)
    assert load_dataset(tmp_path / "x.h5", env_id="Hopper-v4").env_id == "Hopper-v4"
    with pytest.raises(DatasetError, match="recorded on Hopper-v5.*Walker2d-v5"):
        load_dataset(HOPPER_ID, dataset_root=hopper_root, env_id="Walker2d-v5")


def test_load_dataset_finds_an_id_that_is_only_in_the_cache_root(hopper_root, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("MSRL_EXT_DATA_ROOT", os.fspath(hopper_root))
    monkeypatch.setenv("MINARI_DATASETS_PATH", os.fspath(tmp_path / "empty_minari_root"))
    assert_same(load_dataset(HOPPER_ID), load_minari(HOPPER_ID, hopper_root))
    with pytest.raises(DatasetError, match="msrl_ext/hopper/medium-v0.*not in the local root"):
        load_dataset("msrl_ext/hopper/medium-v0")


def replay_npz(ds, path, env_id="Hopper-v5"):
    """The SAC trainer's --replay-dump layout: D4RL keys plus a JSON 'metadata' entry."""
    np.savez(path, observations=ds.observations, actions=ds.actions, rewards=ds.rewards,
             next_observations=ds.next_observations, terminals=ds.terminals.astype(bool),
             timeouts=ds.timeouts.astype(bool),
             metadata=np.array(json.dumps({"env_id": env_id, "kind": "medium-replay"})))
    return path


def test_medium_replay_is_imported_from_a_replay_dump(hopper_root, tmp_path):
    ds = load_minari(HOPPER_ID, hopper_root)
    dump = replay_npz(ds, tmp_path / "hopper_medium_replay.npz")
    assert_same(load_dataset(dump), ds)
    generate_dataset("hopper", "medium-replay", dataset_root=tmp_path, from_transitions=dump,
                     progress=False)
    replay = load_minari("msrl_ext/hopper/medium-replay-v0", tmp_path)
    assert_same(replay, ds)
    provenance = replay.metadata["msrl_ext"]
    assert provenance["source_file"] == "hopper_medium_replay.npz"
    assert provenance["source_metadata"]["kind"] == "medium-replay"


def test_import_refuses_shuffled_rows_and_another_env(hopper_root, tmp_path):
    ds = load_minari(HOPPER_ID, hopper_root)
    shuffled = dataclasses.replace(ds, observations=ds.observations[::-1].copy())
    with pytest.raises(DatasetError, match=r"rows \[0, \d+\) .* not consecutive steps"):
        generate_dataset("hopper", "medium-replay", dataset_root=tmp_path, progress=False,
                         from_transitions=replay_npz(shuffled, tmp_path / "shuffled.npz"))
    with pytest.raises(DatasetError, match="recorded on Walker2d-v5, not Hopper-v5"):
        generate_dataset("hopper", "medium-replay", dataset_root=tmp_path, progress=False,
                         from_transitions=replay_npz(ds, tmp_path / "w.npz", "Walker2d-v5"))
    assert not (tmp_path / "msrl_ext/hopper/medium-replay-v0").exists()
