"""Online Soft Actor-Critic: trains the behaviour policies (medium / expert) from which
the project's offline datasets are generated. See README.md in this folder."""
from mindspore_rl_ext.algorithms.sac.config import ENV_PRESETS, algorithm_config, trainer_params
from mindspore_rl_ext.algorithms.sac.sac import (NumpySACPolicy, SACLearner, SACPolicy,
                                                 SACPolicyAndNetwork, policy_weights)

__all__ = ["ENV_PRESETS", "algorithm_config", "trainer_params", "NumpySACPolicy", "SACLearner",
           "SACPolicy", "SACPolicyAndNetwork", "policy_weights"]
