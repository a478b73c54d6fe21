"""The NumPy behaviour-policy format and the levels that use it."""
import numpy as np
import pytest

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data.behaviour import (NumpyBehaviourPolicy, load_behaviour_policy,
                                             shipped_policies)
from mindspore_rl_ext.data.generate import generate_dataset
from mindspore_rl_ext.data.minari_io import load_minari

HOPPER_OBS, HOPPER_ACT = 11, 3


def policy_weights(seed=0, obs_dim=HOPPER_OBS, act_dim=HOPPER_ACT, hidden=(16, 16), high=1.0):
    rng = np.random.default_rng(seed)
    dims = (obs_dim, *hidden)
    weights = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        weights[f"trunk_w{i}"] = rng.normal(0, 0.5, (a, b)).astype(np.float32)
        weights[f"trunk_b{i}"] = np.zeros(b, np.float32)
    for head in ("mean", "log_std"):
        weights[f"{head}_w"] = rng.normal(0, 0.5, (hidden[-1], act_dim)).astype(np.float32)
        weights[f"{head}_b"] = np.zeros(act_dim, np.float32)
    weights["action_high"] = np.full(act_dim, high, np.float32)
    return weights


def policy_metadata(level="medium", env_id="Hopper-v5"):
    return {"env_id": env_id, "level": level, "average_return": 1500.0,
            "normalized_score": 46.7, "train_steps": 100000, "seed": 0}


def test_save_load_and_act(tmp_path):
    path = tmp_path / "hopper_medium.npz"
    NumpyBehaviourPolicy.save(path, policy_weights(high=0.4), policy_metadata())
    policy = load_behaviour_policy("hopper", "medium", tmp_path)
    assert policy.metadata == policy_metadata() and (policy.obs_dim, policy.act_dim) == (11, 3)
    obs = np.random.default_rng(1).standard_normal((64, HOPPER_OBS))
    actions = policy(obs, np.random.default_rng(0))
    assert actions.shape == (64, 3) and actions.dtype == np.float32
    assert np.abs(actions).max() <= 0.4
    np.testing.assert_array_equal(actions, policy(obs, np.random.default_rng(0)))
    w = policy.weights
    h = np.maximum(np.maximum(obs.astype(np.float32) @ w["trunk_w0"], 0) @ w["trunk_w1"], 0)
    np.testing.assert_allclose(policy(obs, None, deterministic=True),
                               np.tanh(h @ w["mean_w"]) * 0.4, rtol=1e-5, atol=1e-6)
    assert policy(obs[0], np.random.default_rng(0)).shape == (3,)


def test_log_std_is_clipped_to_2(tmp_path):
    weights = policy_weights()
    for key in ("mean_w", "log_std_w"):
        weights[key][:] = 0.0
    weights["log_std_b"][:] = 50.0
    NumpyBehaviourPolicy.save(tmp_path / "p.npz", weights, policy_metadata())
    policy = NumpyBehaviourPolicy.load(tmp_path / "p.npz")
    eps = np.random.default_rng(3).standard_normal((1, 3), dtype=np.float32)
    np.testing.assert_allclose(policy(np.zeros((1, 11)), np.random.default_rng(3)),
                               np.tanh(np.exp(2.0) * eps), rtol=1e-6)


@pytest.mark.parametrize("change, match", [
    (lambda w: w.pop("mean_b"), r"missing keys \['mean_b'\]"),
    (lambda w: w.update(trunk_w7=w["trunk_w1"]), r"unknown keys \['trunk_w7'\]"),
    (lambda w: w.update(trunk_w1=np.zeros((5, 16), np.float32)), "'trunk_w1' .* do not chain"),
    (lambda w: w.update(log_std_w=np.zeros((16, 2), np.float32)), "'log_std_w'"),
    (lambda w: w.update(mean_w=w["mean_w"].astype(np.float64)), "'mean_w' has dtype float64"),
    (lambda w: w.update(action_high=np.ones(2, np.float32)), "'action_high' has shape"),
])
def test_bad_weights_are_named(tmp_path, change, match):
    weights = policy_weights()
    change(weights)
    with pytest.raises(DatasetError, match=match):
        NumpyBehaviourPolicy.save(tmp_path / "p.npz", weights, policy_metadata())


def test_bad_metadata_and_missing_policy(tmp_path):
    meta = dict(policy_metadata(), average_return=np.float32(1500.0))
    NumpyBehaviourPolicy.save(tmp_path / "p.bin", policy_weights(), meta)
    assert NumpyBehaviourPolicy.load(tmp_path / "p.bin").metadata["average_return"] == 1500.0
    with pytest.raises(DatasetError, match="metadata is not JSON-serialisable"):
        NumpyBehaviourPolicy.save(tmp_path / "p.bin", policy_weights(), dict(meta, seed=object()))
    with pytest.raises(DatasetError, match=r"metadata lacks \['train_steps'\]"):
        meta = policy_metadata()
        del meta["train_steps"]
        NumpyBehaviourPolicy.save(tmp_path / "p.npz", policy_weights(), meta)
    NumpyBehaviourPolicy.save(tmp_path / "hopper_expert.npz", policy_weights(), policy_metadata("expert"))
    with pytest.raises(DatasetError, match=r"no behaviour policy 'walker2d_medium'.*\['hopper_expert'\]"):
        load_behaviour_policy("walker2d", "medium", tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        NumpyBehaviourPolicy.load(tmp_path / "junk.npz")
    assert shipped_policies(tmp_path) == ["hopper_expert", "junk"]


def test_policy_levels_and_medium_expert(tmp_path):
    policies, root = tmp_path / "policies", tmp_path / "root"
    policies.mkdir()
    for seed, level in enumerate(("medium", "expert")):
        NumpyBehaviourPolicy.save(policies / f"hopper_{level}.npz", policy_weights(seed),
                                  policy_metadata(level))
    for level in ("medium", "medium-expert"):
        generate_dataset("hopper", level, steps=120, seed=0, dataset_root=root,
                         policy_dir=policies, progress=False)
    medium = load_minari("msrl_ext/hopper/medium-v0", root)
    both = load_minari("msrl_ext/hopper/medium-expert-v0", root)
    assert len(medium) == 120 and len(both) == 240
    np.testing.assert_array_equal(both.observations[:120], medium.observations)
    np.testing.assert_array_equal(both.actions[:120], medium.actions)
    used = both.metadata["msrl_ext"]["behaviour_policies"]
    assert [(p["level"], p["file"]) for p in used] == [("medium", "hopper_medium.npz"),
                                                      ("expert", "hopper_expert.npz")]
    assert used[1]["metadata"]["level"] == "expert" and len(used[1]["sha256"]) == 64


def test_policy_for_another_env_is_refused(tmp_path):
    NumpyBehaviourPolicy.save(tmp_path / "hopper_medium.npz",
                              policy_weights(obs_dim=17, act_dim=6), policy_metadata(env_id="Walker2d-v5"))
    with pytest.raises(DatasetError, match="is for .*Walker2d-v5.*expected .*Hopper-v5"):
        generate_dataset("hopper", "medium", steps=10, dataset_root=tmp_path / "r",
                         policy_dir=tmp_path, progress=False)


SHIPPED_ENVS = {"hopper": "Hopper-v5", "walker2d": "Walker2d-v5", "halfcheetah": "HalfCheetah-v5"}


def _episode_return(env, act, seed, steps=300):
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for _ in range(steps):
        obs, reward, term, trunc, _ = env.step(act(obs))
        total += float(reward)
        if term or trunc:
            break
    return total


@pytest.mark.parametrize("env", sorted(SHIPPED_ENVS))
def test_shipped_medium_policy_fits_its_env_and_beats_random(env):
    import gymnasium as gym

    assert f"{env}_medium" in shipped_policies()
    policy = load_behaviour_policy(env, "medium")
    gym_env = gym.make(SHIPPED_ENVS[env])
    assert policy.metadata["env_id"] == SHIPPED_ENVS[env]
    assert (policy.obs_dim, policy.act_dim) == (gym_env.observation_space.shape[0],
                                                gym_env.action_space.shape[0])
    rng = np.random.default_rng(0)
    gym_env.action_space.seed(0)
    learned = [_episode_return(gym_env, lambda o: policy(o, rng), seed) for seed in range(2)]
    random = [_episode_return(gym_env, lambda o: gym_env.action_space.sample(), seed)
              for seed in range(2)]
    gym_env.close()
    assert np.mean(learned) > np.mean(random) + 100.0, (learned, random)


EXPERT_MIN_RETURN = {"hopper": 2430.0, "walker2d": 3450.0, "halfcheetah": 9100.0}  # 75% of D4RL's


@pytest.mark.parametrize("name", shipped_policies())
def test_shipped_policy_gait_is_recorded_and_reproduces(name):
    """Every shipped policy records its gait; medium and expert policies move forward
    (a Hopper that balances in place earns medium-level return without locomoting)."""
    from mindspore_rl_ext.envs.gait import gait_statistics

    env, level = name.rsplit("_", 1)
    policy = load_behaviour_policy(env, level)
    recorded = policy.metadata["gait"]
    assert set(recorded) >= {"avg_length", "fall_rate", "mean_forward_velocity"}
    assert recorded["mean_forward_velocity"] > 0.5, recorded
    rng = np.random.default_rng(0)
    measured = gait_statistics(policy.metadata["env_id"], lambda o: policy(o, rng), 2, seed=7)
    assert measured["mean_forward_velocity"] > 0.5, measured
    if level == "expert":
        assert policy.metadata["average_return"] >= EXPERT_MIN_RETURN[env]


def test_shipped_hopper_medium_replay_loads_whole():
    """The medium-replay rows of the run behind hopper_medium.npz (the default dataset's source)."""
    from mindspore_rl_ext.data import load_dataset
    from mindspore_rl_ext.data.behaviour import POLICY_DIR

    ds = load_dataset(str(POLICY_DIR.parent / "replays" / "hopper_medium_replay.npz"))
    assert len(ds) == 115_000 and len(ds.episode_ends) == 1043 and ds.env_id == "Hopper-v5"
    assert ds.metadata["train_env_steps"] == 115_000
