"""Implicit Q-Learning: config, PolicyAndNetwork / Learner / Actor, trainer, session."""
from mindspore_rl_ext.algorithms.iql.config import DEFAULT_CONFIG, DOMAINS, load_config
from mindspore_rl_ext.algorithms.iql.iql import (IQLActor, IQLLearner, IQLPolicyAndNetwork,
                                                 IQLUpdate)
from mindspore_rl_ext.algorithms.iql.session import IQLSession
from mindspore_rl_ext.algorithms.iql.trainer import IQLTrainer

__all__ = ["DEFAULT_CONFIG", "DOMAINS", "load_config", "IQLActor", "IQLLearner",
           "IQLPolicyAndNetwork", "IQLUpdate", "IQLSession", "IQLTrainer"]
