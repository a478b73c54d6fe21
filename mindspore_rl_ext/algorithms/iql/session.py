"""IQLSession: config files in, a trained or evaluated IQL out."""
from mindspore_rl_ext.algorithms.iql.config import algorithm_config, load_config
from mindspore_rl_ext.algorithms.iql.trainer import IQLTrainer
from mindspore_rl_ext.core.session import Session


class IQLSession(Session):
    """``IQLSession(log, env_yaml, algo_yaml, overrides).run(IQLTrainer, episode=E)``.

    ``overrides``: ``{section: {key: value}}`` applied after the YAML files (the
    command line's ``--ckpt_path`` and such)."""

    def __init__(self, log, env_yaml=None, algo_yaml=None, config=None, episodes=1):
        self.config = config if config is not None else load_config(env_yaml, algo_yaml)
        super().__init__(algorithm_config(self.config, episodes), self.config["trainer_params"], log,
                         seed=self.config["seed"])

    def fingerprint(self, msrl):
        cfg = self.config
        return {"dataset": str(cfg["dataset_params"]["dataset"]),
                "env_id": msrl.eval_environment.name,
                "state_dim": msrl.replay_buffer.state_dim,
                "action_dim": msrl.replay_buffer.action_dim,
                "hidden_sizes": list(cfg["policy_params"]["hidden_sizes"]),
                "reward_transform": cfg["dataset_params"]["reward_transform"],
                "normalize_observations": cfg["dataset_params"]["normalize_observations"]}

    def make_trainer(self, msrl, class_type=IQLTrainer):
        return class_type(msrl, self.params, self.log, self.fingerprint(msrl))
