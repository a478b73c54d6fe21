"""The 2-D bandit toy: datasets, plots, checkpoint round trip, and the paper's claim that
Q-guided diffusion policies concentrate on the high-reward modes while diffusion BC covers
all of them (mean reward of sampled actions: ql/qg clearly above bc, bc near the dataset
mean). Rewards of sampled actions count only actions within 3 std of a mode (off-support
actions score 0), so a policy cannot win by leaving the data."""
import json
import os
import re
import shutil

import numpy as np
import pytest
from helpers import load_script

from mindspore_rl_ext.algorithms.diffusion_ql.session import results_dir
from mindspore_rl_ext.algorithms.diffusion_ql.toy import (build_toy, evaluate_toy, load_toy,
                                                          toy_config, train_toy)
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.envs.bandit_toy import (GAUSSIAN_CENTRES, BanditEnvironment,
                                              make_toy_dataset, reward_fn, sample_actions)


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


# ----------------------------------------------------------------------------- datasets
def test_8gaussians_dataset_matches_the_reference_layout():
    d = make_toy_dataset("8gaussians", 16000, seed=0)
    assert d["observations"].shape == (16000, 2) and not d["observations"].any()
    assert d["terminals"].all() and (d["next_observations"] == 0).all()
    assert set(np.round(np.unique(d["rewards"]) * 7).astype(int)) == set(range(8))
    centres = GAUSSIAN_CENTRES / 1.414
    for k in (0, 7):  # reward 0 at the top (0, 2.83), reward 1 at the upper right (45 deg)
        pts = d["actions"][np.isclose(d["rewards"], k / 7)]
        np.testing.assert_allclose(pts.mean(0), centres[k], atol=0.05)
        assert pts.std(0).mean() == pytest.approx(0.5 / 1.414, rel=0.1)
    np.testing.assert_allclose(centres[0], [0, 4 / 1.414], atol=1e-6)
    assert np.mean(reward_fn("8gaussians")(d["actions"])) == pytest.approx(d["rewards"].mean(), abs=0.01)


def test_rings_and_swissroll_datasets():
    a, r = sample_actions("rings", 8000, np.random.default_rng(0))
    radius = np.linalg.norm(a, axis=1)
    for rad, rew in ((3.0, 0.667), (2.25, 0.333), (1.5, 1.0), (0.75, 0.0)):
        sel = np.abs(radius - rad) < 0.3
        assert sel.sum() == pytest.approx(2000, rel=0.05) and np.allclose(r[sel], rew)
    # the reference labels rewards before adding the noise, so a few points near a band edge
    # (radius 2.25 vs sqrt 5 = 2.236, 3 vs sqrt 8.5 = 2.915) carry their ring's label
    assert np.mean(np.isclose(reward_fn("rings")(a), r)) > 0.75
    a, r = sample_actions("swissroll", 4000, np.random.default_rng(0))
    np.testing.assert_allclose(r, (a ** 2).sum(1) / 9)
    assert np.abs(a).max() < 4.5


# ----------------------------------------------------------------------------- config
def test_toy_config_is_diffusion_ql_config_with_the_toy_rows():
    cfg = toy_config("rings", {"algo": "qg", "learner_params": {"eta": 1.5}})
    assert cfg["hyperparameter_row"] == "rings" and cfg["trainer_params"]["num_epochs"] == 200
    assert (cfg["learner_params"]["lr"], cfg["learner_params"]["gn"]) == (3e-4, 2.0)
    assert cfg["learner_params"]["eta"] == 1.5 and cfg["learner_params"]["discount"] == 0.0
    assert cfg["policy_params"]["max_action"] == 4.5 and cfg["algo"] == "qg"
    with pytest.raises(ConfigError, match="'hopper' is not a toy dataset"):
        toy_config("hopper")
    with pytest.raises(ConfigError, match="dataset_params.toy_dataset_size.*>= 1, got 0"):
        toy_config("rings", {"dataset_params": {"toy_dataset_size": 0}})
    with pytest.raises(ConfigError, match="bandit environment 'Hopper-v5' is not one of"):
        BanditEnvironment({"name": "Hopper-v5"})


def test_bandit_environment_returns_the_reward_of_the_action_at_state_0():
    env = BanditEnvironment({"name": "8gaussians"})
    seen = []

    def policy(obs):
        seen.append(obs)
        return np.tile((GAUSSIAN_CENTRES[7] / 1.414)[None], (len(obs), 1))
    np.testing.assert_allclose(env.run_episodes(policy, 5), np.ones(5))
    assert seen[0].shape == (5, 2) and not seen[0].any()


# ----------------------------------------------------------------------------- runs
def _cfg(tmp_path, algo, hidden=64, **trainer):
    """The toy's Diffusion-QL config for a short run (lr 1e-3 for actor and critic)."""
    return toy_config("8gaussians", {
        "algo": algo, "policy_params": {"hidden_dim": hidden, "critic_hidden_dim": hidden},
        "dataset_params": {"batch_size": 128, "toy_dataset_size": 20000},
        "learner_params": {"lr": 1e-3, "critic_lr": 1e-3},
        "trainer_params": dict({"num_epochs": 1, "results_dir": str(tmp_path), "eval_freq": 1},
                               **trainer)})


def _train_steps(cfg, steps):
    """A fresh toy run of ``cfg`` trained ``steps`` steps by its learner."""
    toy = build_toy(cfg)
    toy.msrl.learner.learn(steps)
    return toy


@pytest.fixture(scope="module")
def bc_run(tmp_path_factory):
    """Diffusion BC trained 1600 steps from scratch (train_toy: log, checkpoint, plots)."""
    tmp = tmp_path_factory.mktemp("toy")
    cfg = _cfg(tmp, "bc", n_steps_per_episode=1600)
    log = _Log()
    toy, episode = train_toy(cfg, log)
    summary = evaluate_toy(cfg, log, toy, episode)
    return cfg, toy, results_dir(cfg), summary, log


def test_bc_covers_the_modes_near_the_dataset_mean(bc_run):
    cfg, run, rdir, summary, log = bc_run
    assert summary["dataset_mean_reward"] == pytest.approx(0.5, abs=0.01)
    assert abs(summary["mean_reward_samples"] - summary["dataset_mean_reward"]) < 0.1
    acts = run.sample_actions(2000)
    centres = GAUSSIAN_CENTRES / 1.414
    nearest = ((acts[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=8)
    assert (counts > 100).all(), counts  # every one of the 8 modes is covered
    assert any(line.startswith("Episode 1: critic_loss is 0, actor_loss is") for line in log.lines)
    # the Session's evaluation: the mean reward of the actions its actor picks at state 0
    evals = [line for line in log.lines if line.startswith("Evaluate for episode 1 total rewards is ")]
    assert len(evals) == 1 and abs(float(evals[0].split()[-1]) - summary["dataset_mean_reward"]) < 0.1


def test_toy_plots_and_files(bc_run):
    import matplotlib  # noqa: F401  (the test extra installs it: fail, never skip, without it)
    cfg, run, rdir, summary, _ = bc_run
    assert os.path.basename(rdir) == "8gaussians__exp_1__diffusion-bc__T-5__ms-online__0"
    for name in ("config.json", "eval.npy", "best_score_online.txt", "summary_1.json",
                 "scatter-data_8gaussians.png", "scatter-action_bc_1.png"):
        assert os.path.isfile(os.path.join(rdir, name)), name
    with open(os.path.join(rdir, "scatter-action_bc_1.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_round_trip(bc_run, tmp_path):
    cfg, run, rdir, _, _ = bc_run
    root = os.path.join(rdir, "ckpt")
    assert sorted(n for n in os.listdir(root) if not n.startswith(".")) == [
        "actor", "critic", "critic_target", "ema_actor", ckpt.STATE_NAME]
    # different initial weights (seed 5), the same checkpoint folder
    other_cfg = dict(cfg, seed=5, trainer_params=dict(cfg["trainer_params"], ckpt_path=root))
    before = build_toy(other_cfg).msrl.policy_and_network.nets.actor.model.final.weight.asnumpy()
    other, episode = load_toy(other_cfg, _Log())
    assert episode == 1
    mine_nets = run.msrl.policy_and_network.networks()
    for name, cell in other.msrl.policy_and_network.networks().items():
        mine = dict(mine_nets[name].parameters_and_names())
        for pname, p in cell.parameters_and_names():
            np.testing.assert_array_equal(p.asnumpy(), mine[pname].asnumpy(), err_msg=f"{name}.{pname}")
    assert not np.allclose(before, other.msrl.policy_and_network.nets.actor.model.final.weight.asnumpy())
    # the loaded weights are the ones the compiled sampler uses
    assert abs(np.mean(other.reward(other.sample_actions(2000)))
               - np.mean(run.reward(run.sample_actions(2000)))) < 0.08
    with pytest.raises(CheckpointError, match="no checkpoint of episode 7"):
        load_toy(cfg, _Log(), 7)
    empty = toy_config("8gaussians", {"algo": "bc", "trainer_params": {
        "results_dir": str(tmp_path / "empty")}})
    with pytest.raises(CheckpointError, match="no toy checkpoint"):
        load_toy(empty, _Log())


@pytest.mark.parametrize("algo,steps", [("ql", 1200), ("qg", 400)])
def test_q_guided_policies_beat_bc(bc_run, algo, steps):
    """ql / qg trained from scratch on a short run (lr 1e-3): sampled actions sit on the
    high-reward modes, well above BC and the dataset mean. (ql first overshoots off the data
    -- Q extrapolates towards the corner -- and the BC term pulls it back by ~1000 steps.)"""
    cfg, bc, rdir, bc_summary, _ = bc_run
    run = _train_steps(_cfg(os.path.dirname(rdir), algo, n_steps_per_episode=steps), steps)
    summary = run.evaluate(with_policy=False)
    assert summary["mean_reward_samples"] > bc_summary["mean_reward_samples"] + 0.2, summary
    assert summary["mean_reward_samples"] > 0.65, summary
    # the plotted landscape is Q(s=0, a=(x, y)) with x horizontal: high at the reward-1 mode
    # (upper right, 45 deg), low at the reward-0 mode (top); the reference plotted Q(grid, 0)
    xs, ys, q = run.q_grid()
    def at(point):
        return q[np.abs(ys - point[1]).argmin(), np.abs(xs - point[0]).argmin()]
    centres = GAUSSIAN_CENTRES / 1.414
    assert at(centres[7]) > at(centres[0]) + 0.5
    assert at(centres[7]) > at(centres[1]) + 0.5  # upper left (reward 1/7): not a transpose


@pytest.mark.slow
@pytest.mark.parametrize("algo,steps,floor", [("edp", 1600, 0.65), ("ql", 3000, 0.9)])
def test_q_guided_policies_beat_bc_longer(bc_run, algo, steps, floor):
    """edp, and ql on a longer run (slow: ~1-2 min each on 2 cores)."""
    cfg, bc, rdir, bc_summary, _ = bc_run
    run = _train_steps(_cfg(os.path.dirname(rdir), algo, n_steps_per_episode=steps), steps)
    summary = run.evaluate(with_policy=False)
    assert summary["mean_reward_samples"] > max(floor, bc_summary["mean_reward_samples"] + 0.2), summary


# ----------------------------------------------------------------------------- resume
def _state(root, step):
    """What an interrupted and an uninterrupted run share exactly (Diffusion-QL's noise is
    MindSpore's unsaveable in-graph RNG): the step counters of the train state, the host
    state (index RNG) and every saved parameter's shape."""
    values = ckpt.load_params(ckpt.state_files(root, step)[0])
    out = {k: v for k, v in values.items() if re.search(r"[/.]\w*step\w*$", k)}
    assert out, sorted(values)
    out["host_state"] = json.dumps(ckpt.read_json(ckpt.state_files(root, step)[1])["host_state"],
                                   sort_keys=True)
    for net in ("actor", "critic", "critic_target", "ema_actor"):
        for name, value in ckpt.load_params(ckpt.network_file(root, net, step)).items():
            out[f"{net}/{name}"] = value.shape
    return out


def test_toy_cli_checkpoints_through_core_and_resumes(tmp_path):
    """bandit_toy.py trains through the Session: core.checkpoint saves every episode (set
    by --algo_yaml), a run stopped after episode 1 resumes to the uninterrupted run's
    counters and index RNG, and the log has the Session's lines."""
    cli = load_script("example/diffusion_ql/bandit_toy.py")
    (tmp_path / "algo.yaml").write_text("trainer_params:\n  save_per_episode: 1\n  max_ckpt_num: 2\n"
                                        "  num_evaluate_episode: 16\n")
    args = ["--algo", "ql", "--T", "1", "--num_epochs", "2", "--n_steps_per_episode", "2",
            "--eval_freq", "2", "--hidden_dim", "8", "--batch_size", "16", "--dataset_size", "500",
            "--device", "CPU", "--algo_yaml", str(tmp_path / "algo.yaml")]
    name = "8gaussians__exp_1__diffusion-ql__T-1__ms-online__0"
    assert cli.main(args + ["--dir", str(tmp_path / "whole")]) == 0
    whole = tmp_path / "whole" / name
    shutil.copytree(whole, tmp_path / "parts" / name)
    parts = tmp_path / "parts" / name
    for folder, _, files in os.walk(parts / "ckpt"):  # what a run stopped after episode 1 leaves
        for f in files:
            if re.search(r"_2\.(ckpt|json)$", f):
                os.remove(os.path.join(folder, f))
    os.remove(parts / "toy_log.txt")
    assert cli.main(args + ["--dir", str(tmp_path / "parts")]) == 0
    mine, ref = _state(str(parts / "ckpt"), 2), _state(str(whole / "ckpt"), 2)
    assert sorted(mine) == sorted(ref)
    for key in ref:
        np.testing.assert_array_equal(mine[key], ref[key], err_msg=key)
    log = (parts / "toy_log.txt").read_text()
    assert "Resumed from checkpoint at episode 1" in log
    assert re.search(r"^Episode 2: critic_loss is \S+, actor_loss is \S+, bc_loss is .*"
                     r"per_step_time [\d.]+ ms,$", log, re.M), log
    assert re.search(r"^Evaluate for episode 2 total rewards is [\d.]+$", log, re.M), log
    assert "Episode 1:" not in log
    assert (parts / "summary_2.json").is_file()
