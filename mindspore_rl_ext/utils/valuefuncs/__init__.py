"""Pretrained value functions (CleanDiffuser's ``cleandiffuser.utils.valuefuncs``): see README.md."""
from mindspore_rl_ext.utils.valuefuncs.iql import Iql, Qfuncs, Vfuncs, expectile_loss

__all__ = ["Iql", "Qfuncs", "Vfuncs", "expectile_loss"]
