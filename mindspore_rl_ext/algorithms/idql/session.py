"""IDQLSession: config in, a trained or evaluated IDQL / AlignIQL / AlignIQL-hard out."""
from mindspore_rl_ext.algorithms.idql.config import algorithm_config, load_config
from mindspore_rl_ext.algorithms.idql.trainer import IDQLTrainer
from mindspore_rl_ext.core.session import Session


class IDQLSession(Session):
    """``IDQLSession(log, config=config, episodes=E).run(IDQLTrainer, episode=E + O)``:
    E offline episodes, then O = ``online_params.online_episodes`` online ones."""

    def __init__(self, log, env_yaml=None, algo_yaml=None, config=None, episodes=1):
        self.config = config if config is not None else load_config(env_yaml, algo_yaml)
        self.offline_episodes = episodes
        super().__init__(algorithm_config(self.config, episodes), self.config["trainer_params"],
                         log, seed=self.config["seed"])

    def fingerprint(self, msrl):
        cfg = self.config
        pp, cp = cfg["policy_params"], cfg["critic_params"]
        return {"algo": cfg["algo"], "dataset": str(cfg["dataset_params"]["dataset"]),
                "env_id": msrl.eval_environment.name,
                "state_dim": msrl.replay_buffer.state_dim,
                "action_dim": msrl.replay_buffer.action_dim,
                "T": pp["T"], "hidden_dim": pp["hidden_dim"], "num_blocks": pp["num_blocks"],
                "critic_source": cp["source"], "critic_hidden_sizes": list(cp["hidden_sizes"]),
                "reward_transform": cfg["dataset_params"]["reward_transform"],
                "normalize_observations": cfg["dataset_params"]["normalize_observations"]}

    def make_trainer(self, msrl, class_type=IDQLTrainer):
        return class_type(msrl, self.params, self.log, self.fingerprint(msrl),
                          self.config["actor_params"]["eval_candidate_sweep"],
                          self.offline_episodes, self.config["online_params"])
