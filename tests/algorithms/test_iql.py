"""IQL: losses against hand-computed values, update order, targets, schedule, checkpoints."""
import math

import mindspore as ms
import numpy as np
import pytest
from helpers import synthetic_dataset

from mindspore_rl_ext.algorithms.iql import IQLTrainer, load_config
from mindspore_rl_ext.algorithms.iql.config import algorithm_config
from mindspore_rl_ext.algorithms.iql.iql import awr_weights, expectile_loss, twin_critic_loss
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.run_log import RunLog
from mindspore_rl_ext.core.session import build_components
from mindspore_rl_ext.nets.policies import GaussianPolicy

T = ms.Tensor


def config(n=600, **trainer):
    cfg = load_config()
    cfg["dataset_params"]["dataset"] = synthetic_dataset(n)
    cfg["dataset_params"]["batch_size"] = 64
    cfg["trainer_params"].update(n_steps_per_episode=5, eval_per_episode=0, **trainer)
    return cfg


def components(cfg, seed=0, episodes=10):
    ms.set_seed(seed)
    return build_components(algorithm_config(cfg, episodes))


def params_of(cell):
    return {n: p.asnumpy().copy() for n, p in cell.parameters_and_names() if not n.startswith("dataset")}


def test_expectile_loss_hand_computed():
    # diff = [1, -2], tau = 0.7: mean(0.7 * 1, 0.3 * 4) = 0.95
    assert float(expectile_loss(T(np.array([1.0, -2.0], np.float32)), 0.7)) == pytest.approx(0.95)


def test_awr_weights_hand_computed_and_clipped():
    q = T(np.array([1.0, 2.0, 10.0], np.float32))
    v = T(np.array([1.5, 1.0, 0.0], np.float32))
    w = awr_weights(q, v, 3.0, 100.0).asnumpy()
    np.testing.assert_allclose(w, [math.exp(-1.5), math.exp(3.0), 100.0], rtol=1e-6)


def test_twin_critic_loss_is_sum_of_mses():
    q1, q2 = T(np.array([1.0, 2.0], np.float32)), T(np.array([0.0, 4.0], np.float32))
    y = T(np.array([1.0, 1.0], np.float32))
    # ((0 + 1) + (1 + 9)) / 2 = 5.5
    assert float(twin_critic_loss(q1, q2, y)) == pytest.approx(5.5)


def test_gaussian_log_prob_hand_computed_and_summed_over_dims():
    pi = GaussianPolicy(2, 2, (4, 4))
    obs = T(np.zeros((1, 2), np.float32))
    mean = pi(obs).asnumpy()
    act = mean + np.array([[0.5, -1.0]], np.float32)
    pi.log_std.set_data(T(np.array([0.0, math.log(2.0)], np.float32)))
    expected = (-0.5 * 0.5 ** 2 - 0.5 * math.log(2 * math.pi)) + \
               (-0.5 * 0.5 ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi))
    assert float(pi.log_prob(obs, T(act)).asnumpy()[0]) == pytest.approx(expected, rel=1e-5)


def test_log_std_is_clipped_to_minus5_2():
    pi = GaussianPolicy(2, 2, (4, 4))
    pi.log_std.set_data(T(np.array([-9.0, 7.0], np.float32)))
    np.testing.assert_allclose(pi.clipped_log_std().asnumpy(), [-5.0, 2.0])


def test_targets_start_as_copies_of_critics():
    nets = components(config()).policy_and_network
    for src, tgt in ((nets.critic_net1, nets.target_critic_net1), (nets.critic_net2, nets.target_critic_net2)):
        for (n1, p1), (n2, p2) in zip(src.parameters_and_names(), tgt.parameters_and_names()):
            assert n1 == n2
            np.testing.assert_array_equal(p1.asnumpy(), p2.asnumpy())


def manual_step(update, idx, order):
    """One update run part by part (PyNative), in ``order``, then Polyak."""
    batch = update.dataset(T(idx))
    update.pack()
    clock = update.tick()
    parts = {"value": lambda: update.value_step(batch[0], batch[1], clock),
             "actor": lambda: update.actor_step(batch[0], batch[1], clock),
             "critic": lambda: update.critic_step(*batch, clock)}
    for part in order:
        parts[part]()
    update.soft_update()
    update.unpack()


def test_update_order_value_actor_critic_polyak():
    cfg = config()
    compiled, in_order, wrong = (components(cfg).learner.update for _ in range(3))
    idx = np.arange(64, dtype=np.int32)
    compiled.train_steps(idx[None])
    manual_step(in_order, idx, ("value", "actor", "critic"))
    manual_step(wrong, idx, ("critic", "value", "actor"))  # critics bootstrap from the old V
    a, b, c = params_of(compiled), params_of(in_order), params_of(wrong)
    assert max(np.abs(a[k] - b[k]).max() for k in a) < 1e-6
    assert max(np.abs(a[k] - c[k]).max() for k in a) > 1e-4


def test_behaviour_cloning_mode_learns_the_temperature_0_policy_and_leaves_critics_alone():
    """BC mode (actor-only likelihood steps) gives the actor that IQL with temperature 0
    gives on the same batches; its value, critics and targets stay at their initial
    weights, and those losses read 0. With temperature 3 the actor differs (the weights
    matter), so the comparison can fail."""
    def trained(temperature, bc):
        cfg = config()
        cfg["learner_params"].update(temperature=temperature, behaviour_cloning=bc)
        msrl = components(cfg)
        before = params_of(msrl.policy_and_network.value_net)
        metrics = msrl.learner.learn(20)
        return msrl.policy_and_network, before, metrics

    bc_nets, value_before, bc_metrics = trained(0.0, True)
    t0_nets, _, t0_metrics = trained(0.0, False)
    t3_nets, _, _ = trained(3.0, False)
    bc, t0, t3 = (params_of(n.actor_net) for n in (bc_nets, t0_nets, t3_nets))
    for k in bc:
        np.testing.assert_allclose(bc[k], t0[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert max(np.abs(bc[k] - t3[k]).max() for k in bc) > 1e-4
    assert bc_metrics["actor_loss"] == pytest.approx(t0_metrics["actor_loss"], rel=1e-5)
    assert bc_metrics["critic_loss"] == 0.0 and bc_metrics["value_loss"] == 0.0
    for k, v in params_of(bc_nets.value_net).items():
        np.testing.assert_array_equal(v, value_before[k], err_msg=k)
    for src, tgt in ((bc_nets.critic_net1, bc_nets.target_critic_net1),
                     (bc_nets.critic_net2, bc_nets.target_critic_net2)):
        for p, q in zip(src.get_parameters(), tgt.get_parameters()):
            np.testing.assert_array_equal(p.asnumpy(), q.asnumpy())


def test_polyak_update_of_targets():
    nets_msrl = components(config())
    update = nets_msrl.learner.update
    nets = nets_msrl.policy_and_network
    before = [p.asnumpy().copy() for p in nets.target_critic_net1.get_parameters()]
    update.train_steps(np.arange(64, dtype=np.int32)[None])
    after = [p.asnumpy() for p in nets.target_critic_net1.get_parameters()]
    source = [p.asnumpy() for p in nets.critic_net1.get_parameters()]
    for b, a, s in zip(before, after, source):
        np.testing.assert_allclose(a, 0.995 * b + 0.005 * s, rtol=1e-5, atol=1e-7)


def test_actor_lr_follows_cosine_decay_to_zero():
    update = components(config(), episodes=2).learner.update  # 2 x 5 = 10 planned steps
    lr = update.actor_opt.learning_rate
    for step in (0, 5, 10):
        expected = 3e-4 * 0.5 * (1 + math.cos(math.pi * step / 10))
        assert float(lr(T(np.array([step], np.int32)))) == pytest.approx(expected, abs=1e-9)


def test_losses_decrease_on_a_fixed_dataset():
    learner = components(config(n=300)).learner
    first = learner.learn(5)
    for _ in range(30):
        last = learner.learn(5)
    assert last["critic_loss"] < first["critic_loss"]
    assert last["value_loss"] < first["value_loss"]


def quiet():
    return RunLog(None, echo=False)


def test_checkpoint_save_load_gives_identical_policy_outputs(tmp_path):
    cfg = config(ckpt_path=str(tmp_path / "ckpt"))
    msrl = components(cfg)
    IQLTrainer(msrl, cfg["trainer_params"], quiet()).save_checkpoint(1)
    msrl.learner.learn(5)
    trainer = IQLTrainer(msrl, cfg["trainer_params"], quiet())
    trainer.save_checkpoint(2)
    obs = np.random.default_rng(1).standard_normal((7, 11)).astype(np.float32)
    expected = msrl.policy_and_network.actor_net(T(obs)).asnumpy()
    other = components(cfg, seed=1)
    fresh = IQLTrainer(other, cfg["trainer_params"], quiet())
    assert np.abs(other.policy_and_network.actor_net(T(obs)).asnumpy() - expected).max() > 1e-3
    assert fresh.load_networks(str(tmp_path / "ckpt")) == 2  # a folder: the newest step
    np.testing.assert_array_equal(other.policy_and_network.actor_net(T(obs)).asnumpy(), expected)
    assert fresh.load_networks(str(tmp_path / "ckpt" / "value_model" / "value_model_1.ckpt")) == 1
    assert np.abs(other.policy_and_network.actor_net(T(obs)).asnumpy() - expected).max() > 0


def test_eval_policy_follows_the_actor_after_every_sync():
    """Weights reach compiled graphs after the first compile too (in-graph copy)."""
    msrl = components(config())
    obs = np.random.default_rng(2).standard_normal((5, 11)).astype(np.float32)
    for _ in range(2):
        msrl.learner.learn(5)
        msrl.actor.sync_eval_policy()
        expected = np.clip(msrl.policy_and_network.actor_net(T(obs)).asnumpy(), -1, 1)
        np.testing.assert_allclose(msrl.actor.get_action(obs), expected, atol=1e-6)


def test_loading_a_checkpoint_after_training_reaches_the_compiled_update(tmp_path):
    cfg = config(ckpt_path=str(tmp_path / "ckpt"))
    msrl = components(cfg)
    trainer = IQLTrainer(msrl, cfg["trainer_params"], quiet())
    trainer.save_checkpoint(1)
    saved = params_of(msrl.learner.update)
    msrl.learner.learn(5)  # compiles the update graph, changes the weights
    trainer.restore()
    restored_losses = msrl.learner.learn(5)
    fresh = components(cfg, seed=5)
    fresh_trainer = IQLTrainer(fresh, cfg["trainer_params"], quiet())
    fresh_trainer.restore()
    assert restored_losses == fresh.learner.learn(5)
    assert saved.keys() == params_of(fresh.learner.update).keys()


def test_resume_continues_exactly(tmp_path):
    """2 episodes straight == 1 episode, checkpoint, new components, resume, 1 more."""
    from mindspore_rl_ext.core.callbacks import CallbackManager

    cfg_a = config(ckpt_path=str(tmp_path / "a"))
    straight = IQLTrainer(components(cfg_a), cfg_a["trainer_params"], quiet())
    straight.train(2, CallbackManager([]), resume=False)
    cfg_b = config(ckpt_path=str(tmp_path / "b"))
    first = IQLTrainer(components(cfg_b), cfg_b["trainer_params"], quiet())
    first.train(1, CallbackManager([]), resume=False)
    first.save_checkpoint(1)
    resumed = IQLTrainer(components(cfg_b, seed=7), cfg_b["trainer_params"], quiet())
    resumed.train(2, CallbackManager([]), resume=True)
    assert resumed.episode == 2
    pa, pc = params_of(straight.msrl.learner.update), params_of(resumed.msrl.learner.update)
    for k in pa:
        np.testing.assert_array_equal(pa[k], pc[k], err_msg=k)


def test_fused_optimiser_resumes_per_parameter_checkpoints_and_its_own_exactly(tmp_path):
    """Checkpoints keep nn.Adam's per-parameter layout: one written by the per-parameter
    optimiser (as every checkpoint before the fused one) resumes a fused run, whose next
    episode equals nn.Adam's (every weight, moment, beta power and step count); a fused
    run's own checkpoint resumes it exactly."""
    from mindspore_rl_ext.core.callbacks import CallbackManager

    def trainer(fused, seed):
        cfg = config(ckpt_path=str(tmp_path / "ckpt"))
        cfg["learner_params"]["fused_optimizer"] = fused
        return IQLTrainer(components(cfg, seed=seed), cfg["trainer_params"], quiet())

    none = CallbackManager([])
    old = trainer(False, 0)
    old.train(1, none, resume=False)
    old.save_checkpoint(1)
    old.train(2, none, resume=False)
    fused = trainer(True, 3)
    fused.train(2, none, resume=True)
    pa, pb = params_of(old.msrl.learner.update), params_of(fused.msrl.learner.update)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_allclose(pa[k], pb[k], rtol=1e-5, atol=1e-6, err_msg=k)
    fused.save_checkpoint(2)
    fused.train(3, none, resume=False)
    again = trainer(True, 4)
    again.train(3, none, resume=True)
    pc, pd = params_of(fused.msrl.learner.update), params_of(again.msrl.learner.update)
    for k in pc:
        np.testing.assert_array_equal(pc[k], pd[k], err_msg=k)


def test_numpy_eval_policy_gives_the_graph_policy_actions_and_returns():
    msrl = components(config())
    msrl.learner.learn(5)
    actor = msrl.actor
    actor.set_observation_normalizer(np.full(11, 0.1), np.full(11, 2.0))
    obs = np.random.default_rng(3).standard_normal((9, 11)).astype(np.float32)
    actor.sync_eval_policy()
    actor.numpy_policy.set_weights(msrl.policy_and_network.actor_net)
    np.testing.assert_allclose(actor.get_action_numpy(obs), actor.get_action(obs), atol=1e-5)
    returns = {}
    for backend in ("numpy", "graph"):
        actor.backend = backend
        returns[backend] = actor.act(2, vectorized=True)
    np.testing.assert_allclose(returns["numpy"], returns["graph"], rtol=1e-4, atol=1e-3)


def test_checkpoint_with_a_legacy_reward_transform_name_resumes(tmp_path):
    """Checkpoints from before the reward-transform registry say 'mujoco'."""
    cfg = config(ckpt_path=str(tmp_path / "ckpt"))
    old = IQLTrainer(components(cfg), cfg["trainer_params"], quiet(), {"reward_transform": "mujoco"})
    old.save_checkpoint(1)
    now = IQLTrainer(components(cfg), cfg["trainer_params"], quiet(),
                     {"reward_transform": "iql_locomotion"})
    assert now.restore() == 1
    other = IQLTrainer(components(cfg), cfg["trainer_params"], quiet(),
                       {"reward_transform": "iql_antmaze"})
    with pytest.raises(ConfigError, match="reward_transform: checkpoint 'iql_locomotion' vs now 'iql_antmaze'"):
        other.restore()
