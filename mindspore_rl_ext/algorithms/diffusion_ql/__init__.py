"""Diffusion-QL family (ql, qg, edp, bc, eg_ood): config, networks, update, trainer, session.

See ``example/diffusion_ql/README.md``. Sources: Diffusion-QL (Wang, Hunt & Zhou, Diffusion
Policies as an Expressive Policy Class for Offline Reinforcement Learning, ICLR 2023;
upstream Zhendong-Wang/Diffusion-Policies-for-Offline-RL), its "Q-guided" fork QG
(DarthUtopian/Online-Adaptive-Diffusion-Policies) and EDP (Kang et al. 2023, Efficient
Diffusion Policies for Offline Reinforcement Learning; upstream sail-sg/edp).
"""
from mindspore_rl_ext.algorithms.diffusion_ql.config import (ALGOS, DEFAULT_CONFIG, load_config,
                                                             total_episodes)
from mindspore_rl_ext.algorithms.diffusion_ql.acting import DiffusionActionSelector
from mindspore_rl_ext.algorithms.diffusion_ql.diffusion_ql import (DiffusionQLActor,
                                                                   DiffusionQLLearner,
                                                                   DiffusionQLPolicyAndNetwork)
from mindspore_rl_ext.algorithms.diffusion_ql.networks import DiffusionNetworks, DoubleCritic
from mindspore_rl_ext.algorithms.diffusion_ql.update import DiffusionQLTrainLoop, DiffusionQLUpdate
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
