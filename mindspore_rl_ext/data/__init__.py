"""Transition datasets: Minari (local root), D4RL-format HDF5, datasets generated here.

No MindSpore here: generation and loading run with NumPy, gymnasium and minari only.
Generation: ``python -m mindspore_rl_ext.data.generate`` or
``mindspore_rl_ext.data.generate.generate_dataset`` (not imported here, so that running
the module as a script does not import it twice).
"""
from mindspore_rl_ext.data.behaviour import NumpyBehaviourPolicy, load_behaviour_policy
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5, save_d4rl_hdf5
from mindspore_rl_ext.data.default_dataset import default_dataset, load_dataset
from mindspore_rl_ext.data.minari_io import load_minari, write_minari
from mindspore_rl_ext.data.scores import normalized_score
from mindspore_rl_ext.data.transitions import TransitionDataset

__all__ = [
    "TransitionDataset", "load_minari", "write_minari", "load_d4rl_hdf5", "save_d4rl_hdf5",
    "normalized_score", "NumpyBehaviourPolicy", "load_behaviour_policy",
    "default_dataset", "load_dataset",
]
