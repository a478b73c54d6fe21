"""Small synthetic datasets for tests, and the loader of the repository's scripts."""
import importlib.util
import itertools
import os
import sys

import numpy as np

from mindspore_rl_ext.data.transitions import TransitionDataset


def synthetic_dataset(n=2000, obs_dim=11, act_dim=3, episode_len=100, seed=0, env_id="Hopper-v5"):
    """Random transitions in episodes of ``episode_len`` with Hopper's shapes and refs."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, obs_dim)).astype(np.float32)
    ends = np.arange(episode_len, n + 1, episode_len)
    timeouts = np.zeros(n, np.float32)
    timeouts[ends - 1] = 1.0
    return TransitionDataset(
        observations=obs,
        actions=rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
        rewards=rng.uniform(0, 1, n).astype(np.float32),
        next_observations=rng.standard_normal((n, obs_dim)).astype(np.float32),
        terminals=np.zeros(n, np.float32), timeouts=timeouts,
        episode_ends=ends.astype(np.int64), env_id=env_id,
        ref_min_score=-20.272305, ref_max_score=3234.3, source="synthetic")


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_script_ids = itertools.count()


def load_script(path):
    """Import the script at ``path`` (relative to the repository root) as a fresh module,
    with its folder on sys.path as when it runs (eval.py imports train.py beside it)."""
    folder = os.path.dirname(os.path.join(REPO_ROOT, path))
    name = f"script_{next(_script_ids)}_{os.path.splitext(os.path.basename(path))[0]}"
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO_ROOT, path))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module
