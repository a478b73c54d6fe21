"""IDQL / AlignIQL offline-to-online: mixed batches, the critic-only online update (and
update_actor), resume in the online phase, and config errors."""
import re

import numpy as np
import pytest
from test_idql_runs import quiet
from test_idql_update import components, small_config, values

from mindspore_rl_ext.algorithms.idql import IDQLTrainer, load_config
from mindspore_rl_ext.algorithms.idql.config import resolve_and_validate
from mindspore_rl_ext.core.callbacks import Callback, CallbackManager
from mindspore_rl_ext.core.errors import ConfigError

OFFLINE = 1


def online_config(algo="aligniql", tmp_path=None, **online):
    cfg = small_config(algo)
    cfg["online_params"].update({"online_episodes": 2, "env_steps_per_episode": 20,
                                 "online_fraction": 0.25, "eval_interval": 0, **online})
    if tmp_path is not None:
        cfg["trainer_params"]["ckpt_path"] = str(tmp_path)
    return resolve_and_validate(cfg)


def trainer(cfg, seed=0):
    return IDQLTrainer(components(cfg, seed, episodes=OFFLINE), cfg["trainer_params"], quiet(),
                       {"algo": cfg["algo"]}, (), OFFLINE, cfg["online_params"])


def test_mixed_batches_hold_the_online_fraction():
    learner = components(online_config(), episodes=OFFLINE).learner
    learner.add_transitions(*(np.zeros((n, d), np.float32) if d else np.zeros(n, np.float32)
                              for n, d in [(30, 11), (30, 3), (30, 0), (30, 11), (30, 0)]))
    offline, size = learner.offline_size, learner.update.dataset.size
    assert size == offline + 30 and learner.online_size == 30
    idx, _ = learner.draw(50, size, learner.online_size)
    online = idx >= offline
    assert idx.shape == (50, 16) and idx.min() >= 0 and idx.max() < size
    np.testing.assert_array_equal(online.sum(1), np.full(50, 4))  # round(0.25 * 16)
    assert len(np.unique(idx[online])) > 20  # spread over the online rows
    learner.online_fraction = 1.0
    idx, _ = learner.draw(50, size, learner.online_size)
    assert idx.min() >= offline  # every row online


@pytest.mark.parametrize("update_actor", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_online_update_touches_the_actor_only_when_asked(update_actor):
    cfg = online_config("aligniql_hard", update_actor=update_actor)
    learner = components(cfg, episodes=OFFLINE).learner
    learner.learn(2)
    nets = learner.policy_and_network
    before = {k: values(c) for k, c in nets.networks().items()}
    learner.add_transitions(np.ones((8, 11), np.float32), np.zeros((8, 3), np.float32),
                            np.ones(8, np.float32), np.ones((8, 11), np.float32),
                            np.ones(8, np.float32))
    losses = learner.learn_online(3)
    assert ("actor_loss" in losses) == update_actor
    after = {k: values(c) for k, c in nets.networks().items()}
    for name in ("critic", "critic_target", "value", "multipliers"):
        assert any(not np.array_equal(before[name][p], after[name][p]) for p in before[name]), name
    for name in ("actor", "ema_actor"):
        same = all(np.array_equal(before[name][p], after[name][p]) for p in before[name])
        assert same != update_actor, name


def test_online_run_collects_evaluates_and_resumes_exactly(tmp_path):
    """1 offline + 2 online episodes straight == 1 offline + 1 online, checkpoint, new
    components, resume, 1 more online: weights, optimiser state and the next action."""
    cfg_a = online_config(tmp_path=tmp_path / "a", eval_interval=2)
    cfg_a["trainer_params"]["num_evaluate_episode"] = 1
    straight = trainer(cfg_a)
    seen = []

    class Record(Callback):
        def episode_end(self, params):
            seen.append(dict(params.losses))

    straight.train(OFFLINE + 2, CallbackManager([Record()]), resume=False)
    assert straight.msrl.learner.online_size == 40
    assert "buffer_size" not in seen[0] and "eval_return" not in seen[1]
    assert "eval_return" in seen[2] and seen[2]["buffer_size"] == 400 + 40
    cfg_b = online_config(tmp_path=tmp_path / "b", eval_interval=2)
    cfg_b["trainer_params"]["num_evaluate_episode"] = 1
    first = trainer(cfg_b)
    first.train(OFFLINE + 1, CallbackManager([]), resume=False)
    first.save_checkpoint(OFFLINE + 1)
    resumed = trainer(cfg_b, seed=7)
    resumed.train(OFFLINE + 2, CallbackManager([]), resume=True)
    assert resumed.episode == OFFLINE + 2
    pa, pb = values(straight.msrl.learner.update), values(resumed.msrl.learner.update)
    assert len(pa) == len(pb)
    for k in pa:  # the dataset rows too: the online ones were restored and collected alike
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)
    np.testing.assert_array_equal(straight.collector.arrays()["obs"],
                                  resumed.collector.arrays()["obs"])
    obs = np.zeros((2, 11), np.float32)
    np.testing.assert_array_equal(straight.msrl.actor.get_action(obs, stochastic=True),
                                  resumed.msrl.actor.get_action(obs, stochastic=True))


@pytest.mark.parametrize("key, value, expected", [
    ("online_episodes", -1, "int >= 0"), ("env_steps_per_episode", 0, "int >= 1"),
    ("online_fraction", 1.5, "number in [0, 1]"), ("update_actor", "yes", "true or false"),
    ("eval_interval", 0.5, "int >= 0")])
def test_bad_online_values_name_the_key(key, value, expected):
    cfg = load_config(algo="aligniql")
    cfg["online_params"][key] = value
    pattern = rf"online_params\.{key}: must be (an? )?{re.escape(expected)}, got {value!r}"
    with pytest.raises(ConfigError, match=pattern):
        resolve_and_validate(cfg)


def test_frozen_critic_online_needs_update_actor():
    cfg = load_config(algo="aligniql")
    cfg["critic_params"]["source"] = "pretrained"
    cfg["online_params"]["online_episodes"] = 1
    with pytest.raises(ConfigError, match=r"online_params\.update_actor: must be true"):
        resolve_and_validate(cfg)
