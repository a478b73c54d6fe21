"""Online Soft Actor-Critic: trains the behaviour policies (medium / expert) from which
the project's offline datasets are generated. See README.md in this folder."""
from mindspore_rl_ext.algorithms.sac.config import DEFAULT_CONFIG, ENV_PRESETS, load_config
from mindspore_rl_ext.algorithms.sac.sac import (NumpySACPolicy, SACActor, SACLearner,
                                                 SACPolicy, SACPolicyAndNetwork, SACUpdate,
                                                 policy_weights)
from mindspore_rl_ext.algorithms.sac.session import SACSession
from mindspore_rl_ext.algorithms.sac.trainer import SACTrainer

__all__ = ["DEFAULT_CONFIG", "ENV_PRESETS", "load_config", "NumpySACPolicy", "SACActor",
           "SACLearner", "SACPolicy", "SACPolicyAndNetwork", "SACUpdate", "policy_weights",
           "SACSession", "SACTrainer"]
