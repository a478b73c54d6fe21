"""Vectorised evaluation: same returns as one episode at a time, ended episodes not stepped."""
import numpy as np
import pytest

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.envs import gym_environment
from mindspore_rl_ext.envs.gym_environment import run_episodes


def rowwise_policy(obs):
    """Row-wise and elementwise, so batching cannot change a row's action by rounding."""
    return np.tanh(3.0 * obs[:, :3])


def test_vectorized_returns_equal_one_at_a_time():
    vec = run_episodes("Hopper-v5", rowwise_policy, 4, seed=7, vectorized=True)
    single = run_episodes("Hopper-v5", rowwise_policy, 4, seed=7, vectorized=False)
    assert vec.shape == (4,)
    np.testing.assert_array_equal(vec, single)


def test_ended_episodes_are_not_stepped_and_the_batch_keeps_its_shape(monkeypatch):
    steps, batch_shapes = [], []
    make = gym_environment.make_env

    def counting_make(env_id):
        env = make(env_id)
        count = {"n": 0}
        steps.append(count)
        step = env.step

        def counted(action):
            count["n"] += 1
            return step(action)

        env.step = counted
        return env

    def policy(obs):
        batch_shapes.append(obs.shape)
        return rowwise_policy(obs)

    monkeypatch.setattr(gym_environment, "make_env", counting_make)
    returns = run_episodes("Hopper-v5", policy, 3, seed=0, vectorized=True)
    lengths = [c["n"] for c in steps]
    assert len(set(lengths)) > 1  # the episodes end at different steps ...
    assert len(batch_shapes) == max(lengths)  # ... and only the longest sets the call count
    assert set(batch_shapes) == {(3, 11)}
    assert np.all(np.isfinite(returns))


def test_unknown_environment_is_a_config_error():
    with pytest.raises(ConfigError, match="NoSuchEnv-v0"):
        run_episodes("NoSuchEnv-v0", rowwise_policy, 2, seed=0)


@pytest.mark.parametrize("algo", ["iql", "diffusion_ql"])
@pytest.mark.parametrize("obs_dim, act_dim", [(11, 2), (17, 3)])
def test_dataset_whose_dimensions_differ_from_the_env_is_refused_before_training(
        algo, obs_dim, act_dim):
    """A dataset with 2-dim actions (or 17-dim observations) against Hopper-v5 (11, 3)
    fails when the components are built, naming both sides."""
    from helpers import synthetic_dataset

    from mindspore_rl_ext.core.session import build_components

    data = synthetic_dataset(300, obs_dim=obs_dim, act_dim=act_dim, env_id="Hopper-v5")
    if algo == "iql":
        from mindspore_rl_ext.algorithms.iql.config import algorithm_config, load_config

        cfg = load_config()
        cfg["dataset_params"].update(dataset=data, batch_size=16)
        config = algorithm_config(cfg, 1)
    else:
        from mindspore_rl_ext.algorithms.diffusion_ql.config import (algorithm_config,
                                                                     load_config)

        cfg = load_config(overrides={"env_name": "hopper-medium-v2"})
        cfg["dataset_params"].update(dataset=data, batch_size=16)
        config = algorithm_config(cfg)
    from mindspore_rl_ext.core.errors import DatasetError

    with pytest.raises(DatasetError, match=rf"obs_dim {obs_dim} and act_dim {act_dim}, but env "
                                           r"Hopper-v5 expects observations \(11,\) and "
                                           r"actions \(3,\)"):
        build_components(config)
