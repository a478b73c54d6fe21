"""Session: builds an algorithm's components from its config and runs its trainer.

The config is shaped like MindSpore Reinforcement's ``algorithm_config``: entries
``replay_buffer``, ``collect_environment``, ``eval_environment``,
``policy_and_network``, ``learner`` and ``actor``, each ``{"type": class, "params":
dict}``. They are built in that order, each from what the earlier ones provide::

    replay_buffer      = type(params)                       # the offline dataset
    collect_environment = type(params, replay_buffer)
    eval_environment    = type(params, replay_buffer)
    policy_and_network = type(params, replay_buffer)         # reads obs/action dims
    learner            = type(params, policy_and_network, replay_buffer)
    actor              = type(params, policy_and_network, eval_environment)
"""
import os
from types import SimpleNamespace

import mindspore as ms

from mindspore_rl_ext.core.callbacks import (CallbackManager, CheckpointCallback,
                                             EvaluateCallback, LossCallback, TimeCallback)
from mindspore_rl_ext.core.device import ensure_mindspore
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.metrics import METRICS_FILE, MetricsCallback

ORDER = ("replay_buffer", "collect_environment", "eval_environment",
         "policy_and_network", "learner", "actor")


def build_components(algorithm_config):
    """Instantiate the config's entries; return a namespace (``msrl``) of them."""
    missing = [k for k in ORDER if k not in algorithm_config]
    if missing:
        raise ConfigError(f"algorithm_config lacks entries: {', '.join(missing)}")
    msrl = SimpleNamespace()
    for key in ORDER:
        entry = algorithm_config[key]
        cls, params = entry["type"], entry.get("params") or {}
        if key == "replay_buffer":
            obj = cls(params)
        elif key in ("collect_environment", "eval_environment", "policy_and_network"):
            obj = cls(params, msrl.replay_buffer)
        elif key == "learner":
            obj = cls(params, msrl.policy_and_network, msrl.replay_buffer)
        else:
            obj = cls(params, msrl.policy_and_network, msrl.eval_environment)
        setattr(msrl, key, obj)
    return msrl


class Session:
    """``Session(algorithm_config, trainer_params, log).run(TrainerClass, ...)``."""

    def __init__(self, algorithm_config, trainer_params, log, callbacks=None, seed=None):
        self.algorithm_config = algorithm_config
        self.seed = seed
        self.params = trainer_params
        self.log = log
        self.extra_callbacks = list(callbacks or [])

    def default_callbacks(self):
        """Time, loss, checkpoint and evaluate callbacks; then, when the log has a file,
        ``metrics.csv`` beside it (TensorBoard files too with trainer_params.tensorboard)."""
        p = self.params
        callbacks = [TimeCallback(p["n_steps_per_episode"]),
                     LossCallback(self.log, p["loss_freq"]),
                     CheckpointCallback(self.log, p["save_per_episode"]),
                     EvaluateCallback(self.log, p["eval_per_episode"])]
        if getattr(self.log, "path", None):
            metrics = os.path.join(os.path.dirname(os.path.abspath(self.log.path)), METRICS_FILE)
            callbacks.append(MetricsCallback(metrics, p["n_steps_per_episode"],
                                             p.get("tensorboard", False)))
        return callbacks

    def make_trainer(self, msrl, class_type):
        return class_type(msrl, self.params, self.log)

    def build(self):
        """The components (``msrl``), built after MindSpore is set up (Auto device, GRAPH_MODE,
        unless :func:`init_mindspore` ran) and seeded for the network initialisation."""
        ensure_mindspore()
        if self.seed is not None:
            ms.set_seed(self.seed)
        return build_components(self.algorithm_config)

    def run(self, class_type, is_train=True, episode=0, resume=True, ckpt_path=None):
        """Train for ``episode`` episodes, or (``is_train=False``) load ``ckpt_path`` and
        evaluate. Returns the trainer (training) or (mean return, score) (evaluation)."""
        msrl = self.build()
        trainer = self.make_trainer(msrl, class_type)
        try:
            if not is_train:
                return trainer.load_and_eval(ckpt_path or self.params["ckpt_path"])
            callbacks = CallbackManager(self.default_callbacks() + self.extra_callbacks)
            trainer.train(episode, callbacks, resume=resume)
            return trainer
        finally:
            msrl.eval_environment.close()
            msrl.collect_environment.close()
