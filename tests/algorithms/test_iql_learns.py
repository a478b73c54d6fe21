"""IQL trained briefly on a small medium-level Hopper dataset beats a random policy (slow:
~75 s; the default run's learning test is test_iql_beats_bc.py)."""
import numpy as np
import pytest

from mindspore_rl_ext.algorithms.iql import IQLSession, IQLTrainer, load_config
from mindspore_rl_ext.core.run_log import RunLog
from mindspore_rl_ext.data.generate import generate_dataset
from mindspore_rl_ext.envs.gym_environment import run_episodes


@pytest.mark.slow
def test_iql_beats_random_policy_on_small_medium_dataset(tmp_path):
    generate_dataset("hopper", "medium", steps=10_000, seed=1, dataset_root=str(tmp_path),
                     dataset_id="test/hopper/medium-v0", progress=False)
    cfg = load_config()
    cfg["dataset_params"].update(dataset="test/hopper/medium-v0", dataset_root=str(tmp_path))
    cfg["trainer_params"].update(ckpt_path=str(tmp_path / "ckpt"), n_steps_per_episode=500,
                                 eval_per_episode=0, save_per_episode=0, num_evaluate_episode=5)
    trainer = IQLSession(RunLog(None, echo=False), config=cfg, episodes=4).run(IQLTrainer, episode=4)
    iql_return, score = trainer.evaluate()
    rng = np.random.default_rng(0)
    random_return = run_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)), 5, seed=42).mean()
    assert iql_return > 3 * max(random_return, 1.0), (iql_return, random_return)
    assert score is not None and score > 5.0
