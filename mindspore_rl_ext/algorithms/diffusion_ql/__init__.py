"""Diffusion-QL family (ql, qg, edp, bc, eg_ood): config, networks, update, trainer, session.

See ``example/diffusion_ql/README.md`` and shared/reference/diffusion_family.md §1-§3.
"""
from mindspore_rl_ext.algorithms.diffusion_ql.config import (ALGOS, DEFAULT_CONFIG, load_config,
                                                             total_episodes)
from mindspore_rl_ext.algorithms.diffusion_ql.diffusion_ql import (
    DiffusionActionSelector, DiffusionNetworks, DiffusionQLActor, DiffusionQLLearner,
    DiffusionQLPolicyAndNetwork, DiffusionQLTrainLoop, DiffusionQLUpdate, DoubleCritic)
from mindspore_rl_ext.algorithms.diffusion_ql.hyperparams import (HYPERPARAMETERS,
                                                                  TOY_HYPERPARAMETERS,
                                                                  lookup_hyperparameters)
from mindspore_rl_ext.algorithms.diffusion_ql.session import DiffusionQLSession
from mindspore_rl_ext.algorithms.diffusion_ql.trainer import DiffusionQLTrainer

__all__ = ["ALGOS", "DEFAULT_CONFIG", "load_config", "total_episodes", "DiffusionActionSelector",
           "DiffusionNetworks", "DiffusionQLActor", "DiffusionQLLearner",
           "DiffusionQLPolicyAndNetwork", "DiffusionQLTrainLoop", "DiffusionQLUpdate",
           "DoubleCritic", "HYPERPARAMETERS", "TOY_HYPERPARAMETERS", "lookup_hyperparameters",
           "DiffusionQLSession", "DiffusionQLTrainer"]
