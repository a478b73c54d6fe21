"""The embedded default dataset, and :func:`load_dataset`, the one entry point for specs.

The default dataset is ``msrl_ext/hopper/medium-replay-v0``: the replay buffer of the SAC
run behind ``behaviour_policies/hopper_medium.npz``, from its first step until it reached
the medium level (115,000 transitions in 1,043 episodes, average D4RL-normalised return
9.7; D4RL's medium-replay is cut the same way). The rows ship with the package
(``replays/hopper_medium_replay.npz``) and are imported on first use into the cache root
(``$MSRL_EXT_DATA_ROOT``, default ``~/.cache/mindspore_rl_ext/datasets``; a few seconds),
then read from there.

Why this data: it holds every quality from falling at once to hopping, so actions differ
in value and the critics see what bad actions lead to. IQL beats behaviour cloning and the
data average on it within the README's 20k-step run (see README.md, "Learning check").
The first default (``medium-v0`` of a Hopper policy that balanced in place) could not
show that.
"""
import logging
import os
import pathlib

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5
from mindspore_rl_ext.data.minari_io import load_minari

DEFAULT_ENV, DEFAULT_LEVEL = "hopper", "medium-replay"
DEFAULT_DATASET_ID = "msrl_ext/hopper/medium-replay-v0"
DEFAULT_SOURCE = pathlib.Path(__file__).with_name("replays") / "hopper_medium_replay.npz"
D4RL_SUFFIXES = (".hdf5", ".h5", ".npz")
logger = logging.getLogger(__name__)


def cache_root() -> pathlib.Path:
    """$MSRL_EXT_DATA_ROOT, else ~/.cache/mindspore_rl_ext/datasets."""
    return pathlib.Path(os.environ.get("MSRL_EXT_DATA_ROOT")
                        or pathlib.Path.home() / ".cache" / "mindspore_rl_ext" / "datasets")


def default_dataset(dataset_root=None):
    """The default dataset as a TransitionDataset, imported into the cache on first use."""
    # imported here: the package __init__ must not import the CLI module `generate`
    # (python -m mindspore_rl_ext.data.generate would then warn about a double import)
    from mindspore_rl_ext.data import generate

    root = pathlib.Path(dataset_root) if dataset_root is not None else cache_root()
    if not (root / DEFAULT_DATASET_ID / "data").is_dir():
        if not DEFAULT_SOURCE.is_file():
            raise DatasetError(f"the default dataset's rows '{DEFAULT_SOURCE}' are missing "
                               "from the installed package; reinstall mindspore_rl_ext")
        logger.info("importing %s from %s into %s", DEFAULT_DATASET_ID, DEFAULT_SOURCE.name, root)
        root.mkdir(parents=True, exist_ok=True)
        try:
            generate.generate_dataset(DEFAULT_ENV, DEFAULT_LEVEL, dataset_root=root,
                                      dataset_id=DEFAULT_DATASET_ID,
                                      from_transitions=os.fspath(DEFAULT_SOURCE))
        except DatasetError:
            if not (root / DEFAULT_DATASET_ID / "data").is_dir():  # else another process made it
                raise
    return load_minari(DEFAULT_DATASET_ID, root)


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
