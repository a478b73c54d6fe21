"""DiffusionQLSession: a resolved config in, a trained or evaluated diffusion policy out."""
import json
import os

from mindspore_rl_ext.algorithms.diffusion_ql.config import (algorithm_config,
                                                             results_folder_name,
                                                             total_episodes)
from mindspore_rl_ext.algorithms.diffusion_ql.selection import ModelSelectionCallback
from mindspore_rl_ext.algorithms.diffusion_ql.trainer import DiffusionQLTrainer
from mindspore_rl_ext.core.session import Session


def results_dir(config):
    return os.path.join(config["trainer_params"]["results_dir"], results_folder_name(config))


def prepare_trainer_params(config):
    """trainer_params for the core runtime: checkpoint root inside the results folder,
    evaluation every eval_freq episodes, and --save_best_model keeping every evaluation."""
    tp = dict(config["trainer_params"])
    rdir = results_dir(config)
    if tp["ckpt_path"] is None:
        tp["ckpt_path"] = os.path.join(rdir, "ckpt")
    tp["eval_per_episode"] = tp["eval_freq"]
    if tp["save_best_model"]:
        tp["save_per_episode"] = tp["eval_freq"]
        tp["max_ckpt_num"] = 10 ** 6
    tp["normalize_observations"] = config["dataset_params"]["normalize_observations"]
    return tp


class DiffusionQLSession(Session):
    """``DiffusionQLSession(log, config).run(DiffusionQLTrainer, episode=total_episodes(config))``."""

    def __init__(self, log, config):
        self.config = config
        self.results_dir = results_dir(config)
        super().__init__(algorithm_config(config), prepare_trainer_params(config), log,
                         seed=config["seed"])

    def default_callbacks(self):
        sp = self.config["selection_params"]
        return super().default_callbacks() + [ModelSelectionCallback(
            self.log, self.results_dir, self.params["eval_per_episode"], sp["ms"], sp["top_k"],
            sp["top_k_mode"], sp["early_stop"])]

    def fingerprint(self, msrl):
        cfg = self.config
        return {"algo": cfg["algo"], "dataset": str(cfg["dataset_params"]["dataset"]),
                "env_id": msrl.eval_environment.name,
                "state_dim": msrl.replay_buffer.state_dim,
                "action_dim": msrl.replay_buffer.action_dim,
                "T": cfg["policy_params"]["T"], "beta_schedule": cfg["policy_params"]["beta_schedule"],
                "hidden_dim": cfg["policy_params"]["hidden_dim"],
                "reward_tune": cfg["dataset_params"]["reward_tune"]}

    def make_trainer(self, msrl, class_type=DiffusionQLTrainer):
        return class_type(msrl, self.params, self.log, self.fingerprint(msrl),
                          offline_episodes=self.config["trainer_params"]["num_epochs"],
                          online_params=self.config["online_params"])

    def write_config(self):
        os.makedirs(self.results_dir, exist_ok=True)
        path = os.path.join(self.results_dir, "config.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, indent=1, default=str)
        return path

    def train(self, resume=True):
        self.write_config()
        return self.run(DiffusionQLTrainer, episode=total_episodes(self.config), resume=resume)
