"""Pretrained inverse dynamics models (CleanDiffuser's ``cleandiffuser.invdynamic``): see README.md."""
from mindspore_rl_ext.invdynamic.mlp import (BasicInvDynamic, FancyMlpInvDynamic, MlpInvDynamic,
                                             split_transitions)

__all__ = ["BasicInvDynamic", "MlpInvDynamic", "FancyMlpInvDynamic", "split_transitions"]
