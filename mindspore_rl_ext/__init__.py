"""Offline reinforcement learning for MindSpore, in the style of MindSpore Reinforcement.

Importing the package makes MindSpore usable in a plain script: it absorbs MindSpore
2.10's one-time NumPy-2 initialisation error without choosing a device (see
:mod:`mindspore_rl_ext.core.device`).
"""
from mindspore_rl_ext.core.device import absorb_numpy_init_error

absorb_numpy_init_error()

__version__ = "0.1.0"
