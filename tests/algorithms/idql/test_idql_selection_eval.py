"""One training, three selection rules: aligniql_hard trains the same diffusion policy and
critic as idql; the actor's selection override picks each rule's candidate; the
selection_eval tool's rows, resume and errors (its rows in the sweep report:
tests/sweep/test_report_selections.py)."""
import csv
import json

import numpy as np
import pytest
from mindspore import Tensor
from test_idql_runs import trainer
from test_idql_update import small_config, values

from mindspore_rl_ext.algorithms.idql.selection_eval import (evaluate_run, read_rows,
                                                             run_algorithm)
from mindspore_rl_ext.core.callbacks import CallbackManager
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.run_log import RunLog

SHARED = ("actor", "ema_actor", "critic", "critic_target", "value")


def config_in(tmp_path, algo):
    """small_config with its checkpoint folder in ``tmp_path`` (trainings lock theirs)."""
    cfg = small_config(algo)
    cfg["trainer_params"]["ckpt_path"] = str(tmp_path / algo / "ckpt")
    return cfg


def test_aligniql_hard_trains_the_same_policy_and_critic_as_idql(tmp_path):
    idql = trainer(config_in(tmp_path, "idql"))
    hard = trainer(config_in(tmp_path, "aligniql_hard"))
    untrained = values(hard.trainable_variables()["multipliers"])
    for run in (idql, hard):
        run.train(2, CallbackManager([]), resume=False)
    nets_idql, nets_hard = idql.trainable_variables(), hard.trainable_variables()
    assert sorted(nets_hard) == sorted(SHARED + ("multipliers",))
    assert sorted(nets_idql) == sorted(SHARED)
    for name in SHARED:
        a, b = values(nets_idql[name]), values(nets_hard[name])
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    trained = values(nets_hard["multipliers"])  # the extra work of the hard run happened
    assert any(not np.array_equal(trained[k], untrained[k]) for k in trained)


def test_selection_override_picks_each_rules_candidate(tmp_path):
    run = trainer(config_in(tmp_path, "aligniql_hard"))
    run.train(1, CallbackManager([]), resume=False)
    actor, nets = run.msrl.actor, run.msrl.policy_and_network
    obs = np.random.default_rng(5).normal(size=(6, 11)).astype(np.float32)
    n, b = 8, len(obs)
    # the candidates, Q, V and beta as the actor's draws make them (rng seeded alike)
    rng = np.random.default_rng(3)
    x_T = rng.standard_normal((b * n, actor.act_dim), dtype=np.float32)
    noises = actor.temperature * rng.standard_normal((actor.T, b * n, actor.act_dim),
                                                     dtype=np.float32)
    normalised = obs if actor.obs_mean is None else (obs - actor.obs_mean) / actor.obs_std
    s_rpt = Tensor(np.repeat(normalised, n, 0))
    acts = nets.ema_actor.sample_with(s_rpt, Tensor(x_T), Tensor(noises))
    q = nets.critic.target_q(s_rpt, acts).asnumpy().reshape(b, n)
    v = nets.critic.v(Tensor(normalised)).asnumpy().reshape(b, 1)
    beta = nets.multipliers.beta(Tensor(normalised)).asnumpy().reshape(b, 1)
    cands = acts.asnumpy().reshape(b, n, -1)
    expected = {"idql": np.argmax(q, 1), "aligniql": np.argmin(np.abs(q - v), 1),
                "aligniql_hard": np.argmax(-beta * q - 1.0, 1)}
    assert len({tuple(k) for k in expected.values()}) > 1  # the rules disagree somewhere
    for selection, k in expected.items():
        actor.rng = np.random.default_rng(3)
        got = actor.get_action(obs, num_candidates=n, stochastic=False, selection=selection)
        np.testing.assert_allclose(got, cands[np.arange(b), k], atol=1e-6, err_msg=selection)
    with pytest.raises(ConfigError, match="selection: expected one of idql, aligniql"):
        actor.get_action(obs, selection="argmax")


def test_hard_selection_needs_multipliers():
    run = trainer(small_config("idql"))
    with pytest.raises(ConfigError, match="'aligniql_hard' needs the multiplier networks"):
        run.msrl.actor.get_action(np.zeros((1, 11), np.float32), selection="aligniql_hard")


def sweep_run_dir(tmp_path, algo):
    """A trained run (seed 0) in a sweep run folder's layout, checkpoints at episodes 1, 2."""
    run_dir = tmp_path / algo / "data" / "seed0"
    cfg = small_config(algo)
    cfg["seed"] = 0
    cfg["trainer_params"].update(ckpt_path=str(run_dir / "ckpt"), num_evaluate_episode=1)
    run = trainer(cfg)
    for episode in (1, 2):
        run.train(episode, CallbackManager([]), resume=False)
        run.save_checkpoint(episode)
    (run_dir / "run.json").write_text(json.dumps({"key": f"{algo}/data/seed0"}))
    return run_dir, cfg


def test_selection_eval_writes_every_row_and_resumes_exactly(tmp_path):
    run_dir, cfg = sweep_run_dir(tmp_path, "idql")
    quiet = RunLog(None, echo=False)
    rows = evaluate_run(str(run_dir), ["idql", "aligniql"], [2, 4], config=cfg, log=quiet)
    keys = [(r["gradient_step"], r["selection"], r["num_candidates"]) for r in rows]
    assert sorted(keys) == sorted((s, sel, n) for s in (3, 6) for sel in ("idql", "aligniql")
                                  for n in (2, 4))
    assert read_rows(str(run_dir / "selection_eval.csv")) == rows
    # an interrupted job: drop the last three rows, run again, get the same numbers back
    with open(run_dir / "selection_eval.csv", newline="") as f:
        lines = list(csv.reader(f))
    with open(run_dir / "selection_eval.csv", "w", newline="") as f:
        csv.writer(f).writerows(lines[:-3])
    again = evaluate_run(str(run_dir), ["idql", "aligniql"], [2, 4], config=cfg, log=quiet)
    assert again == rows
    assert not (run_dir / "selection_eval.csv.tmp").exists()


def test_selection_eval_errors_name_the_problem(tmp_path):
    run_dir, cfg = sweep_run_dir(tmp_path, "idql")
    quiet = RunLog(None, echo=False)
    with pytest.raises(ConfigError, match="needs a run of --algo aligniql_hard"):
        evaluate_run(str(run_dir), ["aligniql_hard"], [4], config=cfg, log=quiet)
    with pytest.raises(ConfigError, match=r"--steps \[5\]: .* gradient steps 3, 6"):
        evaluate_run(str(run_dir), ["idql"], [4], steps={5}, config=cfg, log=quiet)
    with pytest.raises(ConfigError, match="not a sweep run folder"):
        run_algorithm(str(tmp_path))
    (run_dir / "run.json").write_text(json.dumps({"key": "iql/data/seed0"}))
    with pytest.raises(ConfigError, match="the run's algorithm is 'iql'"):
        run_algorithm(str(run_dir))
    assert not (run_dir / "selection_eval.csv").exists()
