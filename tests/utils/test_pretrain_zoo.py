"""The zoo pretraining entry point, end to end on a tiny D4RL-format file."""
import json

import numpy as np
import pytest

from mindspore_rl_ext.data.d4rl_hdf5 import save_d4rl_hdf5
from mindspore_rl_ext.data.transitions import TransitionDataset
from mindspore_rl_ext.invdynamic import FancyMlpInvDynamic
from mindspore_rl_ext.utils import pretrain_zoo
from mindspore_rl_ext.utils.valuefuncs import Iql


def _tiny_dataset(episodes=12, length=30, seed=0):
    """Episodes ending in a terminal (so every state has a full Monte-Carlo return)."""
    rng = np.random.default_rng(seed)
    n = episodes * length
    obs = rng.standard_normal((n, 4)).astype(np.float32) * 3 + 5
    act = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    terminals = np.zeros(n, np.float32)
    terminals[length - 1::length] = 1.0
    return TransitionDataset(
        observations=obs, actions=act, rewards=np.ones(n, np.float32),
        next_observations=obs + 0.1 * np.pad(act, ((0, 0), (0, 2))),
        terminals=terminals, timeouts=np.zeros(n, np.float32),
        episode_ends=np.arange(length, n + 1, length, dtype=np.int64), env_id="Toy-v0",
        source="toy")


def test_discounted_returns_and_episode_split():
    r = np.array([1, 1, 1, 2, 2], np.float32)
    np.testing.assert_allclose(pretrain_zoo.discounted_returns(r, np.array([3, 5]), 0.5),
                               [1.75, 1.5, 1.0, 3.0, 2.0])
    mask = pretrain_zoo.episode_split(np.arange(10, 101, 10), 0.2, seed=0)
    assert mask.sum() == 20 and all(len(set(mask[i:i + 10])) == 1 for i in range(0, 100, 10))


def _iql_argv(path, zoo, work, steps):
    return ["--datasets", str(path), "--zoo-dir", str(zoo), "--work-dir", str(work),
            "--models", "iql", "--hidden-dim", "16", "--iql-steps", str(steps),
            "--iql-batch-size", "32", "--log-every", "20", "--save-every", "20",
            "--metrics-every", "20", "--holdout-episodes", "0.25"]


def test_extend_continues_a_finished_model_exactly_and_keeps_its_curve(tmp_path, capsys):
    path = tmp_path / "toy-medium-v0.hdf5"
    save_d4rl_hdf5(_tiny_dataset(), path)
    zoo, work = tmp_path / "zoo", tmp_path / "work"
    assert pretrain_zoo.main(_iql_argv(path, zoo, work, 40)) == 0
    assert pretrain_zoo.main(_iql_argv(path, zoo, work, 80) + ["--extend"]) == 0
    _, extended = Iql.from_pretrained("toy-medium-v0", zoo_dir=zoo)
    assert extended["training"]["steps"] == 80
    assert extended["training"]["extended_from_step"] == 40
    assert [p["step"] for p in extended["metrics"]["v_vs_mc_curve"]] == [20, 40, 60, 80]

    fresh_zoo = tmp_path / "fresh_zoo"
    assert pretrain_zoo.main(_iql_argv(path, fresh_zoo, tmp_path / "fresh_work", 80)) == 0
    _, fresh = Iql.from_pretrained("toy-medium-v0", zoo_dir=fresh_zoo)
    assert extended["weights_sha256"] == fresh["weights_sha256"]  # 40 + 40 == 80 updates
    assert extended["metrics"]["v_vs_mc_curve"] == fresh["metrics"]["v_vs_mc_curve"]
    assert "extended_from_step" not in fresh["training"]

    capsys.readouterr()
    assert pretrain_zoo.main(_iql_argv(path, zoo, tmp_path / "elsewhere", 120)
                             + ["--extend"]) == 2
    err = capsys.readouterr().err
    assert "--extend" in err and "no kept training checkpoint" in err
    assert str(tmp_path / "elsewhere" / "iql" / "toy-medium-v0") in err


def test_pretrain_writes_both_models_and_skips_on_rerun(tmp_path, capsys):
    path = tmp_path / "toy-medium-v0.hdf5"
    save_d4rl_hdf5(_tiny_dataset(), path)
    zoo, work = tmp_path / "zoo", tmp_path / "work"
    argv = ["--datasets", str(path), "--zoo-dir", str(zoo), "--work-dir", str(work),
            "--hidden-dim", "16", "--iql-steps", "40", "--iql-batch-size", "32",
            "--invdyn-max-steps", "60", "--invdyn-batch-size", "32", "--invdyn-val-every", "20",
            "--log-every", "20", "--save-every", "20", "--holdout-episodes", "0.25"]
    assert pretrain_zoo.main(argv) == 0
    iql, params = Iql.from_pretrained("toy-medium-v0", zoo_dir=zoo)
    assert params["training"]["steps"] == 40 and params["training"]["holdout_episodes"] == 3
    assert params["metrics"]["v_vs_mc"]["n"] == 3 * 30
    np.testing.assert_allclose(params["normalizers"]["state"]["mean"], [5] * 4, atol=0.5)
    inv, iparams = FancyMlpInvDynamic.from_pretrained("toy-medium-v0", zoo_dir=zoo)
    assert iparams["metrics"]["val_mse"] > 0 and "holdout_episodes_mse" in iparams["metrics"]
    assert iparams["training"]["kept"] == "best validation checkpoint"
    assert (work / "iql" / "toy-medium-v0" / "finished.json").is_file()  # kept for --extend
    capsys.readouterr()
    assert pretrain_zoo.main(argv) == 0  # everything already there: skipped
    out = capsys.readouterr().out
    assert out.count("already in") == 2
    assert json.loads((zoo / "iql" / "toy-medium-v0" / "params.json").read_text())[
        "weights_sha256"] == params["weights_sha256"]


@pytest.mark.parametrize("name, domain", [("msrl_ext/pointmaze/umaze-v0", "pointmaze"),
                                          ("D4RL/antmaze/umaze-v1", "antmaze"),
                                          ("msrl_ext/hopper/medium-v0", None)])
def test_sparse_reward_datasets_are_named_by_iql_presets(name, domain):
    assert pretrain_zoo.sparse_reward_domain(name) == domain


def test_a_sparse_reward_dataset_gets_r_minus_1_and_expectile_0_9(tmp_path):
    dataset = _tiny_dataset()
    dataset.rewards[:] = dataset.terminals  # reward 1 only at the goal, as PointMaze's
    path = tmp_path / "toy-pointmaze-umaze-v0.hdf5"
    save_d4rl_hdf5(dataset, path)
    zoo = tmp_path / "zoo"
    assert pretrain_zoo.main(_iql_argv(path, zoo, tmp_path / "work", 20)) == 0
    _, params = Iql.from_pretrained("toy-pointmaze-umaze-v0", zoo_dir=zoo)
    assert params["config"]["tau"] == 0.9 and params["training"]["reward_transform"] == "r - 1"
    # held-out targets are the returns of r - 1: -sum_{k < 29 - t} 0.99^k at step t
    mc = params["metrics"]["v_vs_mc"]
    assert mc["n"] == 3 * 30
    np.testing.assert_allclose(mc["target_mean"], np.mean(
        [-(1 - 0.99 ** (29 - t)) / (1 - 0.99) for t in range(30)]), rtol=1e-6)
