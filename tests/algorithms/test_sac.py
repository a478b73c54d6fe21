"""Online SAC: policy maths, learner update, target update, export round trip, trainer
checkpoint/resume. Small networks so the whole file runs in well under a minute."""
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
from mindspore import Tensor

from mindspore_rl_ext.algorithms.sac.export import load_behaviour_policy, save_behaviour_policy
from mindspore_rl_ext.algorithms.sac.sac import (NumpySACPolicy, SACPolicyAndNetwork, SACUpdate,
                                                 policy_weights)
from mindspore_rl_ext.data.replay_buffer import ReplayBuffer, dump_d4rl_npz

OBS, ACT, B, HID = 5, 2, 32, (32, 32)


def _networks(log_std_min=-20.0, log_std_max=2.0):
    dims = SimpleNamespace(state_dim=OBS, action_dim=ACT)
    return SACPolicyAndNetwork({"hidden_dims": HID, "log_std_min": log_std_min,
                                "log_std_max": log_std_max}, dims)


def _batch(rng, n):
    def f(*shape):
        return rng.standard_normal((n, B) + shape).astype(np.float32)

    return (f(OBS), np.tanh(f(ACT)), f(), f(OBS), (rng.random((n, B)) < 0.1).astype(np.float32),
            f(ACT), f(ACT))


def _learn(learner, arrays):
    """One compiled call on stacked batches (n, B, ...): write their n*B rows into the
    learner's device replay, then step i trains on rows i*B..(i+1)*B-1.
    Returns (mean stats (4,), alpha after the call)."""
    obs, act, rew, next_obs, done, noise_next, noise_pi = arrays
    n = obs.shape[0]
    rows = np.arange(n * B)
    flat = lambda x: x.reshape((n * B,) + x.shape[2:])  # noqa: E731
    learner.dataset.write_rows(rows, {"observations": flat(obs), "actions": flat(act),
                                      "rewards": flat(rew), "next_observations": flat(next_obs),
                                      "terminals": flat(done)})
    stats = learner.train_steps(rows.reshape(n, B), extras=(noise_next, noise_pi))
    return np.array([stats[k] for k in SACUpdate.METRICS]), learner.alpha_value()


@pytest.fixture(scope="module")
def learner():
    import mindspore as ms

    ms.set_seed(1)
    return SACUpdate(_networks(), capacity=B)


def test_sample_log_prob_matches_closed_form(learner):
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((7, OBS)).astype(np.float32)
    noise = rng.standard_normal((7, ACT)).astype(np.float32)
    act, logp = learner.policy.sample(Tensor(obs), Tensor(noise))
    act, logp = act.asnumpy(), logp.asnumpy()
    assert act.shape == (7, ACT) and logp.shape == (7,)
    mean, log_std = (x.asnumpy() for x in learner.policy.dist_params(Tensor(obs)))
    u = mean + np.exp(log_std) * noise
    gauss = (-0.5 * ((u - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi))
    expected = gauss.sum(-1) - np.log(1 - np.tanh(u) ** 2).sum(-1)
    np.testing.assert_allclose(act, np.tanh(u), atol=2e-4)  # MindSpore's tanh: ~1e-4 abs
    np.testing.assert_allclose(logp, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(learner.policy(Tensor(obs)).asnumpy(), np.tanh(mean), atol=2e-4)


def test_log_std_is_clipped():
    net = _networks(log_std_min=-20.0, log_std_max=2.0)
    b = net.policy.log_std_head.bias
    b.set_data(Tensor(np.full(ACT, 50.0, np.float32)))
    _, log_std = net.policy.dist_params(Tensor(np.zeros((3, OBS), np.float32)))
    np.testing.assert_allclose(log_std.asnumpy(), 2.0)
    b.set_data(Tensor(np.full(ACT, -50.0, np.float32)))
    _, log_std = net.policy.dist_params(Tensor(np.zeros((3, OBS), np.float32)))
    np.testing.assert_allclose(log_std.asnumpy(), -20.0)


def test_target_update_is_polyak_of_updated_online(learner):
    rng = np.random.default_rng(1)
    before_t = [p.asnumpy().copy() for p in learner.target_params]
    stats, alpha = _learn(learner, _batch(rng, 1))
    after_o = [p.asnumpy() for p in learner.online_params]
    after_t = [p.asnumpy() for p in learner.target_params]
    assert stats.shape == (4,) and np.isfinite(stats).all() and 0.0 < alpha
    tau = learner.tau
    for t0, o1, t1 in zip(before_t, after_o, after_t):
        np.testing.assert_allclose(t1, (1 - tau) * t0 + tau * o1, rtol=1e-5, atol=1e-7)
    # targets are not trained: they must differ from the online nets after an update
    assert any(not np.allclose(t, o) for t, o in zip(after_t, after_o))


def test_losses_decrease_on_a_fixed_batch(learner):
    rng = np.random.default_rng(2)
    fixed = _batch(rng, 1)   # n = 1 as elsewhere: one compiled graph for the module
    first, alpha0 = _learn(learner, fixed)
    for _ in range(60):
        last, alpha = _learn(learner, fixed)
    assert np.all(np.isfinite(last))
    assert last[0] < first[0]            # critic loss
    assert last[1] < first[1]            # actor loss: pushes Q up / entropy term
    # entropy (~2 nats for 2 dims at init) is above target -2, so alpha shrinks
    assert alpha < alpha0 < 1.0


def test_export_round_trip_reproduces_mindspore_actions(learner, tmp_path):
    rng = np.random.default_rng(3)
    obs = rng.standard_normal((16, OBS)).astype(np.float32)
    ms_act = learner.policy(Tensor(obs)).asnumpy()
    weights = policy_weights(learner.policy)
    assert weights["trunk_w0"].shape == (OBS, HID[0]) and weights["mean_w"].shape == (HID[1], ACT)
    meta = {"env_id": "Hopper-v5", "level": "medium", "average_return": 1.0,
            "normalized_score": 1.0, "train_steps": 10, "seed": 0,
            "algorithm": "SAC (mindspore_rl_ext)"}
    path = str(tmp_path / "p.npz")
    save_behaviour_policy(path, weights, meta, np.ones(ACT, np.float32))
    loaded = load_behaviour_policy(path)
    assert loaded.metadata["level"] == "medium"
    # MindSpore's CPU tanh is an approximation (abs error up to ~1e-4 vs np.tanh)
    np.testing.assert_allclose(loaded(obs, rng, deterministic=True), ms_act, atol=2e-4)
    np.testing.assert_allclose(NumpySACPolicy(weights)(obs, deterministic=True), ms_act, atol=2e-4)
    # stochastic actions: same noise -> same actions as MindSpore's reparameterised sample
    noise = np.random.default_rng(4).standard_normal((16, ACT), dtype=np.float32)
    ms_sample, _ = learner.policy.sample(Tensor(obs), Tensor(noise))
    np_sample = loaded(obs, np.random.default_rng(4), deterministic=False)
    np.testing.assert_allclose(np_sample, ms_sample.asnumpy(), atol=2e-4)


def test_replay_buffer_wraps_and_dumps_d4rl_format(tmp_path):
    buf = ReplayBuffer({"state_dim": OBS, "action_dim": ACT, "capacity": 5, "batch_size": 4})
    for i in range(7):
        buf.add(np.full(OBS, i), np.zeros(ACT), float(i), np.full(OBS, i + 1), i == 2, False)
    d = buf.ordered()
    assert buf.size == 5 and list(d["rewards"]) == [2, 3, 4, 5, 6]
    rows = buf.device_rows(buf.sample_indices(np.random.default_rng(0), 3, 4))
    o, no, done = rows["observations"], rows["next_observations"], rows["terminals"]
    assert o.shape == (3, 4, OBS) and done.dtype == np.float32
    np.testing.assert_allclose(no[..., 0], o[..., 0] + 1)
    path = str(tmp_path / "replay.npz")
    dump_d4rl_npz(path, d, {"kind": "medium-replay"})
    with np.load(path) as f:
        assert set(f.files) == {"observations", "actions", "rewards", "next_observations",
                                "terminals", "timeouts", "metadata"}
        assert f["terminals"].tolist() == [True, False, False, False, False]
        assert f["timeouts"].tolist() == [False, False, False, False, True]  # open episode closed
        assert json.loads(str(f["metadata"]))["kind"] == "medium-replay"


def tiny_config(capacity=1_000_000, **trainer_params):
    """Hopper SAC with tiny nets: 100 env steps, updates from step 50, evaluations at 50 and 100."""
    from mindspore_rl_ext.algorithms.sac.config import load_config

    return load_config({
        "policy_params": {"hidden_dims": HID},
        "replay_params": {"batch_size": 32, "capacity": capacity},
        "trainer_params": dict(max_env_steps=100, learning_starts=50, steps_per_call=25,
                               eval_freq=50, ckpt_freq=50, eval_episodes=1,
                               confirm_episodes=1, **trainer_params)})


class ListLog(list):
    def info(self, line):
        self.append(line)


def train(cfg, work, out, replay_dump=None, log=None, resume=True):
    from mindspore_rl_ext.algorithms.sac.session import SACSession

    session = SACSession(cfg, work, out, log if log is not None else ListLog(),
                         replay_dump=replay_dump)
    return session.run(resume=resume)


def test_trainer_runs_exports_and_resumes(tmp_path):
    cfg = tiny_config(medium_band=(-1e9, 1e9))
    work, out, dump = str(tmp_path / "w"), str(tmp_path / "p"), str(tmp_path / "r.npz")
    logs = ListLog()
    levels = train(cfg, work, out, replay_dump=dump, log=logs).levels
    assert "medium" in levels and levels["medium"]["step"] == 50
    pol = load_behaviour_policy(os.path.join(out, "hopper_medium.npz"))
    assert pol.obs_dim == 11 and pol.act_dim == 3 and pol.metadata["train_steps"] == 50
    with np.load(dump) as f:
        assert f["observations"].shape == (50, 11)
    cfg["trainer_params"]["max_env_steps"] = 150
    resumed = train(cfg, work, out, log=logs)
    assert any("Resumed SAC at env step 100" in m for m in logs)
    assert resumed.buffer.size == 150
    assert resumed.step == 150 and [r["step"] for r in resumed.history] == [50, 100, 150]
    assert any("Resumed" in m for m in logs)


def test_fallback_medium_dumps_the_replay_up_to_the_chosen_snapshot(tmp_path):
    # every evaluation is confirmed (return >= low) but none lands in the band
    cfg = tiny_config(medium_band=(-1e9, -1e8), medium_target=-5e8)
    dump = str(tmp_path / "r.npz")
    trainer = train(cfg, str(tmp_path / "w"), str(tmp_path / "p"), replay_dump=dump)
    levels = trainer.levels
    assert levels["medium"]["fallback"] and levels["medium"]["step"] in (50, 100)
    step = levels["medium"]["step"]
    ordered = trainer.buffer.ordered()
    with np.load(dump) as f:
        assert f["observations"].shape == (step, 11)
        np.testing.assert_array_equal(f["actions"], ordered["actions"][:step])
        assert json.loads(str(f["metadata"]))["train_env_steps"] == step


def test_fallback_writes_no_replay_once_the_buffer_has_wrapped(tmp_path):
    cfg = tiny_config(capacity=60, medium_band=(-1e9, -1e8), medium_target=-5e8)
    dump = tmp_path / "r.npz"                        # 100 steps overwrite 1..40
    logs = ListLog()
    levels = train(cfg, str(tmp_path / "w"), str(tmp_path / "p"), replay_dump=str(dump),
                   log=logs).levels
    assert levels["medium"]["fallback"] and "replay_dump" not in levels["medium"]
    assert not dump.exists()
    assert any("no longer holds env steps" in m for m in logs)


def _exact_state(trainer):
    """Everything a next step depends on, as arrays (timings left out)."""
    from mindspore_rl_ext.core.training_loop import trainable_state

    out = {f"update/{n}": p.asnumpy() for n, p in trainable_state(trainer.learner.update)}
    out.update({f"replay/{k}": v for k, v in trainer.buffer.state().items()})
    env = trainer.env.get_state()
    out["env/physics"] = env["physics"]
    out["scalars"] = np.array([trainer.step, trainer.env_episodes, trainer.ep_ret,
                               trainer.ep_len, trainer.acc_n, *trainer.acc, env["elapsed_steps"]])
    out["obs"] = np.asarray(trainer.obs)
    out["rng"] = np.array(json.dumps([trainer.rng.bit_generator.state, env["reset_rng"]]))
    out["evals"] = np.array([[r["step"], r["det_return"], r["det_len"]]
                             + [r.get(k, 0.0) for k in ("critic_loss", "actor_loss", "alpha")]
                             for r in trainer.history])
    return out


def test_resume_equals_an_uninterrupted_run_bit_exactly(tmp_path):
    """100 env steps, checkpoint, resume to 200 == 200 in one go: update cell (networks,
    targets, Adam moments, log-alpha), replay slots (the buffer wraps at 120) and write
    position, RNGs, MuJoCo state mid-episode, episode return, evaluation numbers."""
    cfg = tiny_config(capacity=120, medium_band=(1e8, 2e8), medium_target=1.5e8)
    cfg["trainer_params"]["max_env_steps"] = 200
    whole = _exact_state(train(cfg, str(tmp_path / "a"), str(tmp_path / "p")))
    cfg["trainer_params"]["max_env_steps"] = 100
    first = train(cfg, str(tmp_path / "b"), str(tmp_path / "p"))
    assert first.ep_len > 0, "the checkpoint should fall inside an env episode"
    cfg["trainer_params"]["max_env_steps"] = 200
    logs = ListLog()
    resumed = _exact_state(train(cfg, str(tmp_path / "b"), str(tmp_path / "p"), log=logs))
    assert any("Resumed SAC at env step 100" in m for m in logs)
    assert whole.keys() == resumed.keys()
    for key in whole:
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)


def test_old_checkpoint_format_is_refused_with_what_to_do(tmp_path):
    from mindspore_rl_ext.core.errors import CheckpointError

    ckpt_dir = tmp_path / "w" / "ckpt"
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "state.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"'.*w/ckpt' holds a checkpoint of the old SAC "
                                              r"format \(state.json\).*--fresh"):
        train(tiny_config(), str(tmp_path / "w"), str(tmp_path / "p"))


def test_carried_checkpoint_drops_the_replay_and_resumes_after_a_policy_refill(tmp_path):
    """pack_carry keeps every network and resume entry but the replay rows; a run resumed
    from it refills the buffer with policy steps (not counted as env steps), then trains on."""
    from mindspore_rl_ext.algorithms.sac.carry import NETWORKS, pack_carry, unpack_carry
    from mindspore_rl_ext.core import checkpoint as ckpt
    from mindspore_rl_ext.core.errors import CheckpointError

    cfg = tiny_config(medium_band=(1e8, 2e8), medium_target=1.5e8, refill_steps=40)
    work, carry = str(tmp_path / "a"), str(tmp_path / "carry")
    first = train(cfg, work, str(tmp_path / "p"))
    packed = pack_carry(work, carry)
    assert packed["env_step"] == 100 and packed["dropped_rows"] == first.buffer.size == 100
    step = packed["episode"]
    for name in NETWORKS:
        original = ckpt.load_params(ckpt.network_file(os.path.join(work, "ckpt"), name, step))
        carried = ckpt.load_params(ckpt.network_file(carry, name, step))
        assert original.keys() == carried.keys()
        for key in original:
            np.testing.assert_array_equal(carried[key], original[key], err_msg=key)
    original = ckpt.load_params(ckpt.state_files(os.path.join(work, "ckpt"), step)[0])
    carried = ckpt.load_params(ckpt.state_files(carry, step)[0])
    replay = {k for k in original if k.startswith("host_state.replay_")}
    assert len(replay) == 6 and carried.keys() == original.keys() - replay
    for key in carried:
        np.testing.assert_array_equal(carried[key], original[key], err_msg=key)

    resumed_work = str(tmp_path / "b")
    assert unpack_carry(carry, resumed_work)
    with pytest.raises(CheckpointError, match=r"carried one whose buffer was never refilled"):
        pack_carry(resumed_work, str(tmp_path / "again"))
    cfg["trainer_params"].update(max_env_steps=150, medium_band=(-1e9, 1e9))
    logs, dump = ListLog(), tmp_path / "r.npz"
    resumed = train(cfg, resumed_work, str(tmp_path / "p"), replay_dump=str(dump), log=logs)
    assert any("Resumed SAC at env step 100" in m for m in logs)
    assert any("Refilled the replay buffer" in m and "with 40 env steps" in m for m in logs)
    assert resumed.step == 150 and resumed.refill_env_steps == 40
    assert resumed.buffer.size == 40 + 50
    assert [r["step"] for r in resumed.history] == [50, 100, 150]
    # medium is reached after the carry: its buffer no longer starts at env step 1
    assert resumed.levels["medium"]["step"] == 150 and not dump.exists()
    assert any("No medium-replay dump: the run was carried" in m for m in logs)
    assert not unpack_carry(carry, resumed_work)  # the run's own checkpoints win now
    with pytest.raises(CheckpointError, match=r"'.*nowhere/ckpt' holds no complete SAC"):
        pack_carry(str(tmp_path / "nowhere"), carry)


def test_refill_steps_below_the_batch_size_is_refused():
    from mindspore_rl_ext.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"trainer_params.refill_steps.*\(8\).*batch_size \(32\)"):
        tiny_config(refill_steps=8)
