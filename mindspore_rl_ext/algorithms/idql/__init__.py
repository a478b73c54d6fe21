"""IDQL, AlignIQL and AlignIQL-hard: config, networks, update, trainer, session.

See ``README.md`` here. Sources: IDQL (Hansen-Estruch et al. 2023, "IDQL: Implicit
Q-Learning as an Actor-Critic Method with Diffusion Policies"; upstream philippe-eecs/IDQL)
and AlignIQL (He, Shen, Tan, Wang 2024, arXiv 2405.18187; upstream felix-thu/AlignIQL).
"""
from mindspore_rl_ext.algorithms.idql.config import ALGOS, DEFAULT_CONFIG, load_config
from mindspore_rl_ext.algorithms.idql.idql import (CandidateSelector, IDQLActor, IDQLLearner,
                                                   IDQLPolicyAndNetwork)
from mindspore_rl_ext.algorithms.idql.session import IDQLSession
from mindspore_rl_ext.algorithms.idql.trainer import IDQLTrainer
from mindspore_rl_ext.algorithms.idql.update import IDQLUpdate

__all__ = ["ALGOS", "DEFAULT_CONFIG", "load_config", "CandidateSelector", "IDQLActor",
           "IDQLLearner", "IDQLPolicyAndNetwork", "IDQLSession", "IDQLTrainer", "IDQLUpdate"]
