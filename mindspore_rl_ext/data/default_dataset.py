"""The embedded default dataset, and :func:`load_dataset`, the one entry point for specs.

The default dataset is ``msrl_ext/hopper/medium-v0`` (1M steps, seed 0), generated on
first use into the cache root (``$MSRL_EXT_DATA_ROOT``, default
``~/.cache/mindspore_rl_ext/datasets``) and read from there afterwards. Another step
count gets its own id, ``.../medium-s<steps>-v0``.

It is generated from ``behaviour_policies/default_v0/hopper_medium.npz``, the first Hopper
policy, which balances in place instead of hopping: the shipped zoo models ("default")
were trained on this data, so it stays the default until they are retrained for a
dataset from the hopping ``behaviour_policies/hopper_medium.npz``.
"""
import logging
import os
import pathlib

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5
from mindspore_rl_ext.data.minari_io import load_minari

DEFAULT_ENV, DEFAULT_LEVEL, DEFAULT_STEPS, DEFAULT_SEED = "hopper", "medium", 1_000_000, 0
# the policy behind the default dataset and the zoo's "default" models (see above)
DEFAULT_POLICY_DIR = pathlib.Path(__file__).with_name("behaviour_policies") / "default_v0"
D4RL_SUFFIXES = (".hdf5", ".h5", ".npz")
logger = logging.getLogger(__name__)


def cache_root():
    """$MSRL_EXT_DATA_ROOT, else ~/.cache/mindspore_rl_ext/datasets."""
    return pathlib.Path(os.environ.get("MSRL_EXT_DATA_ROOT")
                        or pathlib.Path.home() / ".cache" / "mindspore_rl_ext" / "datasets")


def default_dataset(steps=DEFAULT_STEPS, dataset_root=None):
    """The default dataset as a TransitionDataset, generated into the cache on first use."""
    # imported here: the package __init__ must not import the CLI module `generate`
    # (python -m mindspore_rl_ext.data.generate would then warn about a double import)
    from mindspore_rl_ext.data import generate

    root = pathlib.Path(dataset_root) if dataset_root is not None else cache_root()
    level = DEFAULT_LEVEL
    name = level if steps == DEFAULT_STEPS else f"{level}-s{steps}"
    dataset_id = generate.dataset_id_for(DEFAULT_ENV, name)
    if not (root / dataset_id / "data").is_dir():
        logger.info("generating %s (%d steps) into %s", dataset_id, steps, root)
        root.mkdir(parents=True, exist_ok=True)
        try:
            generate.generate_dataset(DEFAULT_ENV, level, steps, DEFAULT_SEED, dataset_root=root,
                                      dataset_id=dataset_id, policy_dir=DEFAULT_POLICY_DIR)
        except DatasetError:
            if not (root / dataset_id / "data").is_dir():  # else another process made it
                raise
    return load_minari(dataset_id, root)


def _only_in_cache(dataset_id):
    """True when a Minari id is absent from Minari's own root but present in the cache."""
    from mindspore_rl_ext.data.minari_io import resolve_root

    return (not (resolve_root(None) / dataset_id).is_dir()
            and (cache_root() / dataset_id / "data").is_dir())


def load_dataset(spec, dataset_root=None, env_id=None):
    """spec: "default", a path to a D4RL-format .hdf5/.h5/.npz file, or a Minari dataset
    id, looked up in dataset_root; with no root, in Minari's root, or in the cache root
    when the id is only there (the default dataset's). env_id: the gymnasium id a
    D4RL-format file was recorded on; for a Minari dataset it must match the recorded one."""
    spec = os.fspath(spec)
    if spec == "default":
        return default_dataset(dataset_root=dataset_root)
    if spec.lower().endswith(D4RL_SUFFIXES):
        return load_d4rl_hdf5(spec, env_id)
    if dataset_root is None and _only_in_cache(spec):
        dataset_root = cache_root()
    dataset = load_minari(spec, dataset_root)
    if env_id is not None and dataset.env_id not in (None, env_id):
        raise DatasetError(f"dataset '{spec}' was recorded on {dataset.env_id}, not on the "
                           f"requested env_id {env_id}")
    return dataset
