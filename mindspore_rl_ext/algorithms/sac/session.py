"""SACSession: a config in, a trained SAC (and its exported behaviour policies) out."""
import math
import os

from mindspore_rl_ext.algorithms.sac.config import algorithm_config
from mindspore_rl_ext.algorithms.sac.trainer import SACTrainer
from mindspore_rl_ext.core.callbacks import CheckpointCallback
from mindspore_rl_ext.core.session import Session


class SACSession(Session):
    """``SACSession(config, work_dir, policy_dir, log).run()`` trains until
    ``max_env_steps`` or a level goal; one training episode is one compiled call of
    ``steps_per_call`` env steps and updates. ``config``: from config.load_config."""

    def __init__(self, config: dict, work_dir: str, policy_dir: str, log,
                 replay_dump: str | None = None):
        self.config, self.policy_dir, self.replay_dump = config, policy_dir, replay_dump
        params = dict(config["trainer_params"], env=config["env"], seed=config["seed"],
                      work_dir=work_dir, ckpt_path=os.path.join(work_dir, "ckpt"))
        super().__init__(algorithm_config(config), params, log, seed=config["seed"])

    def episodes(self) -> int:
        """Compiled calls (training episodes) that cover ``max_env_steps``."""
        return math.ceil(self.params["max_env_steps"] / self.params["steps_per_call"])

    def default_callbacks(self):
        calls_per_ckpt = self.params["ckpt_freq"] // self.params["steps_per_call"]
        return [CheckpointCallback(self.log, calls_per_ckpt)]

    def make_trainer(self, msrl, class_type=SACTrainer):
        return class_type(msrl, self.params, self.log, self.config, self.policy_dir,
                          self.replay_dump)

    def run(self, class_type=SACTrainer, is_train=True, episode=None, resume=True,
            ckpt_path=None):
        """Train (returns the trainer, ``trainer.levels`` the policies reached), or with
        ``is_train=False`` evaluate the networks of ``ckpt_path``."""
        return super().run(class_type, is_train, episode or self.episodes(), resume, ckpt_path)
