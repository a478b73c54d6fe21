"""Offline reinforcement learning for MindSpore, in the style of MindSpore Reinforcement."""
__version__ = "0.1.0"
