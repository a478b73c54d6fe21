"""IDQL / AlignIQL / AlignIQL-hard runs: checkpoint -> identical actions, resume equals an
uninterrupted run, and (slow) a short run beats a random policy."""
import mindspore as ms
import numpy as np
import pytest
from test_idql_update import components, small_config, values

from mindspore_rl_ext.algorithms.idql import IDQLSession, IDQLTrainer, load_config
from mindspore_rl_ext.core.callbacks import CallbackManager
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.run_log import RunLog


def quiet():
    return RunLog(None, echo=False)


def trainer(cfg, seed=0):
    return IDQLTrainer(components(cfg, seed), cfg["trainer_params"], quiet(),
                       {"algo": cfg["algo"]})


@pytest.mark.parametrize("algo", ["idql", "aligniql_hard"])
def test_checkpoint_reloads_to_identical_actions(tmp_path, algo):
    cfg = small_config(algo)
    cfg["trainer_params"]["ckpt_path"] = str(tmp_path / "ckpt")
    first = trainer(cfg)
    first.train(2, CallbackManager([]), resume=False)
    first.save_checkpoint(2)
    nets = sorted(p.name for p in (tmp_path / "ckpt").iterdir()
                  if p.is_dir() and p.name != "train_state")
    expected = ["actor", "critic", "critic_target", "ema_actor", "value"]
    assert nets == sorted(expected + (["multipliers"] if algo == "aligniql_hard" else []))
    obs = np.random.default_rng(5).normal(size=(3, 11)).astype(np.float32)
    first.msrl.actor.rng = np.random.default_rng(9)
    want = first.msrl.actor.get_action(obs)
    other = trainer(cfg, seed=11)  # other initial weights
    other.msrl.actor.rng = np.random.default_rng(9)
    assert not np.array_equal(other.msrl.actor.get_action(obs), want)
    assert other.load_networks(str(tmp_path / "ckpt")) == 2
    other.msrl.actor.rng = np.random.default_rng(9)
    np.testing.assert_array_equal(other.msrl.actor.get_action(obs), want)


def test_resume_equals_uninterrupted_run(tmp_path):
    """3 episodes straight == 1 episode, checkpoint, new components, resume, 2 more."""
    cfg_a = small_config("aligniql_hard")
    cfg_a["trainer_params"]["ckpt_path"] = str(tmp_path / "a")
    straight = trainer(cfg_a)
    straight.train(3, CallbackManager([]), resume=False)
    cfg_b = small_config("aligniql_hard")
    cfg_b["trainer_params"]["ckpt_path"] = str(tmp_path / "b")
    first = trainer(cfg_b)
    first.train(1, CallbackManager([]), resume=False)
    first.save_checkpoint(1)
    resumed = trainer(cfg_b, seed=7)
    resumed.train(3, CallbackManager([]), resume=True)
    assert resumed.episode == 3
    pa, pb = values(straight.msrl.learner.update), values(resumed.msrl.learner.update)
    pa = {k: v for k, v in pa.items() if not k.startswith("dataset.")}
    assert pa
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)
    obs = np.zeros((2, 11), np.float32)
    np.testing.assert_array_equal(straight.msrl.actor.get_action(obs),
                                  resumed.msrl.actor.get_action(obs))


def test_resume_refuses_another_algo(tmp_path):
    cfg = small_config("idql")
    cfg["trainer_params"]["ckpt_path"] = str(tmp_path / "ckpt")
    first = trainer(cfg)
    first.train(1, CallbackManager([]), resume=False)
    first.save_checkpoint(1)
    other = IDQLTrainer(components(cfg), cfg["trainer_params"], quiet(), {"algo": "aligniql"})
    with pytest.raises(ConfigError, match="algo: checkpoint 'idql' vs now 'aligniql'"):
        other.train(2, CallbackManager([]), resume=True)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["idql", "aligniql", "aligniql_hard"])
def test_short_run_beats_random_policy_on_small_medium_dataset(tmp_path, algo):
    from mindspore_rl_ext.data.generate import generate_dataset
    from mindspore_rl_ext.envs.gym_environment import run_episodes

    generate_dataset("hopper", "medium", steps=10_000, seed=1, dataset_root=str(tmp_path),
                     dataset_id="test/hopper/medium-v0", progress=False)
    cfg = load_config(algo=algo)
    cfg["dataset_params"].update(dataset="test/hopper/medium-v0", dataset_root=str(tmp_path),
                                 batch_size=128)
    cfg["policy_params"].update(hidden_dim=64, time_dim=16)
    cfg["critic_params"]["hidden_sizes"] = [64, 64]
    cfg["actor_params"].update(num_candidates=16, eval_candidate_sweep=[])
    cfg["trainer_params"].update(ckpt_path=str(tmp_path / "ckpt"), n_steps_per_episode=500,
                                 eval_per_episode=0, save_per_episode=0, num_evaluate_episode=5)
    ms.set_seed(0)
    run = IDQLSession(quiet(), config=cfg, episodes=3).run(IDQLTrainer, episode=3)
    mean_return, score = run.evaluate()
    rng = np.random.default_rng(0)
    random_return = run_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)), 5,
                                 seed=42).mean()
    print(f"{algo}: return {mean_return:.1f} (score {score:.2f}) vs random {random_return:.1f}")
    assert mean_return > 3 * max(random_return, 1.0), (mean_return, random_return)
    assert score > run.msrl.replay_buffer.normalized_score(random_return)
