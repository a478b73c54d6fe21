"""Minari datasets in a local root, through minari's own API.

Reading flattens each episode (T steps, T+1 observations) into rows:
``observations = obs[:-1]``, ``next_observations = obs[1:]``, ``terminals =
terminations``, ``timeouts = truncations``; an episode whose last step has neither flag
(collection stopped) gets ``timeouts = 1`` there. The root is ``dataset_root`` when
given, else minari's own choice (``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets``).
Nothing is ever downloaded.

Writing (:func:`write_minari`) builds the dataset in a hidden temporary root inside the
target root and renames it into place only when complete, so a failed or interrupted
run leaves nothing that blocks re-creating the id.
"""
import contextlib
import os
import pathlib
import re
import shutil
import tempfile
import warnings

import gymnasium as gym
import h5py
import minari
import numpy as np
from minari.data_collector import EpisodeBuffer
from minari.dataset.minari_dataset import parse_dataset_id
from minari.dataset.minari_storage import METADATA_FILE_NAME, MinariStorage
from minari.namespace import NAMESPACE_METADATA_FILENAME
from minari.storage import get_dataset_path

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.data.d4rl_hdf5 import check_hdf5_size
from mindspore_rl_ext.data.transitions import TransitionDataset

RESERVED_NAMESPACES = ("mujoco", "D4RL")  # the official Farama datasets; never written here
GENERATE_COMMAND = "python -m mindspore_rl_ext.data.generate --env ENV --level LEVEL"
_EPISODES_PER_READ = 256
HDF5_DATA_FILE = "main_data.hdf5"  # the episodes of a dataset in minari's HDF5 format
_OWN_ID = re.compile(r"msrl_ext/(?P<env>\w+)/(?P<level>[-\w]+?)-v\d+")


@contextlib.contextmanager
def datasets_root(root):
    """Set MINARI_DATASETS_PATH to root inside the block (None: leave it), then restore."""
    if root is None:
        yield
        return
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = os.fspath(root)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def resolve_root(dataset_root=None):
    """The datasets root minari uses for dataset_root (created if missing)."""
    with datasets_root(dataset_root):
        return pathlib.Path(get_dataset_path())


def local_dataset_ids(dataset_root=None):
    """Sorted ids of the datasets under the root."""
    with datasets_root(dataset_root), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted(minari.list_local_datasets())


def check_dataset_id(dataset_id):
    """DatasetError unless dataset_id is '(namespace/)name-vN' outside the reserved namespaces."""
    try:
        namespace = parse_dataset_id(dataset_id)[0]
    except (ValueError, TypeError) as err:
        raise DatasetError(f"dataset id '{dataset_id}' is malformed: expected "
                           f"(namespace/)name-v<version>, e.g. msrl_ext/hopper/medium-v0") from err
    if namespace is not None and namespace.split("/")[0] in RESERVED_NAMESPACES:
        raise DatasetError(f"dataset id '{dataset_id}': the namespaces {RESERVED_NAMESPACES} "
                           f"belong to the official Farama datasets; use msrl_ext/...")


def load_minari(dataset_id, dataset_root=None):
    """Read a local Minari dataset into a validated TransitionDataset.

    DatasetError for an unknown id, a missing file, or a damaged metadata or data file
    (naming that file)."""
    if dataset_root is not None and not os.path.isdir(dataset_root):
        raise DatasetError(f"Minari dataset root '{dataset_root}' does not exist")
    with datasets_root(dataset_root):
        folder = resolve_root(dataset_root) / dataset_id
        if not folder.is_dir():
            raise DatasetError(_unknown_id_message(dataset_id, dataset_root))
        metadata_file = folder / "data" / METADATA_FILE_NAME
        _require_file(metadata_file, dataset_id, folder)
        meta_where = f"Minari dataset '{dataset_id}': metadata file '{metadata_file}'"
        with read_errors_as(DatasetError, f"{meta_where} is damaged or not Minari's"):
            metadata = MinariStorage.read_raw_metadata(metadata_file.parent)
            data_file = (metadata_file.parent / HDF5_DATA_FILE
                         if metadata.get("data_format") == "hdf5" else metadata_file.parent)
            _require_file(data_file, dataset_id, folder)
            ds = minari.load_dataset(dataset_id)
            _check_spaces(ds, meta_where)
            env_id = ds.env_spec.id if ds.env_spec is not None else None
            ref_scores = [_ref_score(metadata, key, meta_where)
                          for key in ("ref_min_score", "ref_max_score")]
        data_where = f"Minari dataset '{dataset_id}': data file '{data_file}'"
        with read_errors_as(DatasetError, f"{data_where} is truncated or corrupt"):
            if data_file.is_file():
                _check_hdf5_sizes(data_file)
            arrays = _flatten(ds, data_where)
    return TransitionDataset(**arrays, env_id=env_id, ref_min_score=ref_scores[0],
                             ref_max_score=ref_scores[1], source=dataset_id,
                             metadata=metadata).validate()


def write_minari(dataset_id, episodes, env, *, dataset_root=None, force=False,
                 ref_min_score=None, ref_max_score=None, description=None,
                 algorithm_name=None, metadata=None, chunk_steps=50_000):
    """Create dataset_id from an iterable of ``minari.data_collector.EpisodeBuffer``.

    episodes may be a generator (it is written in chunks of about chunk_steps steps);
    env: the gymnasium env the data came from (its spec is recorded and used as eval
    env); ref_min_score / ref_max_score: both or neither (minari drops a lone min);
    metadata: extra JSON-able keys for the dataset metadata; force: replace an existing
    dataset once the new one is complete. Returns the dataset folder.
    """
    check_dataset_id(dataset_id)
    if (ref_min_score is None) != (ref_max_score is None):
        raise DatasetError(f"dataset '{dataset_id}': pass both ref_min_score and "
                           f"ref_max_score or neither (got {ref_min_score}, {ref_max_score})")
    root = resolve_root(dataset_root)
    if (root / dataset_id).exists() and not force:
        raise DatasetError(f"dataset '{dataset_id}' already exists at '{root / dataset_id}'; "
                           f"pass --force (force=True) to replace it")
    tmp_root = pathlib.Path(tempfile.mkdtemp(prefix=".msrl_ext_tmp_", dir=root))
    try:
        with datasets_root(tmp_root), warnings.catch_warnings():
            warnings.filterwarnings("ignore",
                                    message=r"`(author_email|code_permalink)` is set to None")
            ds = minari.create_dataset_from_buffers(
                dataset_id, [], env=env, eval_env=env, algorithm_name=algorithm_name,
                author="mindspore_rl_ext", description=description,
                ref_min_score=ref_min_score, ref_max_score=ref_max_score)
            for chunk in _chunks(episodes, chunk_steps, dataset_id):
                ds.update_dataset_from_buffer(chunk)
            if ds.storage.total_episodes == 0:
                raise DatasetError(f"dataset '{dataset_id}': no episodes were given")
            if metadata:
                ds.storage.update_metadata(metadata)
        _move_into_place(tmp_root, root, dataset_id, force)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return root / dataset_id


def episodes_from_transitions(dataset):
    """EpisodeBuffers of a TransitionDataset, for write_minari. An episode's observations
    are its rows' observations plus its last next_observation, so the rows of an episode
    must be consecutive steps (next_observations[i] == observations[i+1])."""
    for start, end in zip(dataset.episode_starts(), dataset.episode_ends):
        obs, next_obs = dataset.observations[start:end], dataset.next_observations[start:end]
        if not np.array_equal(obs[1:], next_obs[:-1]):
            raise DatasetError(
                f"'{dataset.source}': rows [{start}, {end}) form an episode but are not "
                f"consecutive steps (next_observations[i] != observations[i+1]); a Minari "
                f"episode needs its steps in order")
        yield EpisodeBuffer(
            observations=np.concatenate([obs, next_obs[-1:]]).astype(np.float64),
            actions=dataset.actions[start:end].copy(),
            rewards=dataset.rewards[start:end].astype(np.float64),
            terminations=dataset.terminals[start:end].astype(bool),
            truncations=dataset.timeouts[start:end].astype(bool))


def _chunks(episodes, chunk_steps, dataset_id):
    """Lists of episodes of about chunk_steps steps, each episode's lengths checked."""
    chunk, steps = [], 0
    for i, ep in enumerate(episodes):
        t = len(ep.rewards)
        if t == 0 or len(ep.observations) != t + 1 or len(ep.actions) != t:
            raise DatasetError(
                f"dataset '{dataset_id}', episode {i}: expected T >= 1 rewards, T actions and "
                f"T+1 observations, got {t}, {len(ep.actions)}, {len(ep.observations)}")
        chunk.append(ep)
        steps += t
        if steps >= chunk_steps:
            yield chunk
            chunk, steps = [], 0
    if chunk:
        yield chunk


def _move_into_place(tmp_root, root, dataset_id, force):
    """Rename tmp_root/dataset_id to root/dataset_id, copying namespace metadata files."""
    parts = pathlib.PurePosixPath(dataset_id).parts
    for depth in range(1, len(parts)):
        namespace = pathlib.Path(*parts[:depth])
        (root / namespace).mkdir(exist_ok=True)
        meta = tmp_root / namespace / NAMESPACE_METADATA_FILENAME
        if meta.exists() and not (root / namespace / NAMESPACE_METADATA_FILENAME).exists():
            shutil.copy2(meta, root / namespace / NAMESPACE_METADATA_FILENAME)
    target = root / dataset_id
    if target.exists():
        if not force:
            raise DatasetError(f"dataset '{dataset_id}' appeared at '{target}' while this one "
                               f"was being written; pass --force (force=True) to replace it")
        os.replace(target, tmp_root / ".replaced")  # deleted with tmp_root
    os.replace(tmp_root / dataset_id, target)


def _check_spaces(ds, where):
    """DatasetError unless both spaces are flat Boxes."""
    for name, space in (("observation", ds.observation_space), ("action", ds.action_space)):
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise DatasetError(f"{where}: {name} space {space} is not a flat Box; only flat "
                               f"Box spaces are supported")


def _flatten(ds, where):
    """Per-episode copy into preallocated float32 arrays (no per-episode lists); where
    names the dataset and its data file in messages."""
    n = ds.storage.total_steps
    obs_dim, act_dim = ds.observation_space.shape[0], ds.action_space.shape[0]
    arrays = {
        "observations": np.empty((n, obs_dim), np.float32),
        "actions": np.empty((n, act_dim), np.float32),
        "rewards": np.empty(n, np.float32),
        "next_observations": np.empty((n, obs_dim), np.float32),
        "terminals": np.empty(n, np.float32),
        "timeouts": np.empty(n, np.float32),
    }
    ends, row = [], 0
    # closed on any error too: an unfinished batch keeps its HDF5 file open otherwise
    with contextlib.closing(_episodes(ds)) as episodes:
        for ep in episodes:
            t = len(ep["rewards"])
            if t == 0:
                continue
            if len(ep["observations"]) != t + 1 or row + t > n:
                raise DatasetError(f"{where}, episode {ep['id']}: {len(ep['observations'])} "
                                   f"observations for {t} steps, or more steps than the "
                                   f"metadata's total_steps={n}")
            stop = row + t
            arrays["observations"][row:stop] = ep["observations"][:-1]
            arrays["next_observations"][row:stop] = ep["observations"][1:]
            arrays["actions"][row:stop] = ep["actions"]
            arrays["rewards"][row:stop] = ep["rewards"]
            arrays["terminals"][row:stop] = ep["terminations"]
            arrays["timeouts"][row:stop] = ep["truncations"]
            if not (ep["terminations"][-1] or ep["truncations"][-1]):
                arrays["timeouts"][stop - 1] = 1.0
            ends.append(stop)
            row = stop
    if row != n:
        raise DatasetError(f"{where}: episodes hold {row} steps, metadata total_steps "
                           f"says {n}")
    arrays["episode_ends"] = np.asarray(ends, np.int64)
    return arrays


def _episodes(ds):
    """The episodes as dicts, read in batches: HDF5 holds ~40 KB per episode group read
    until its file closes, and minari closes it at the end of each get_episodes call."""
    indices = ds.episode_indices
    for start in range(0, len(indices), _EPISODES_PER_READ):
        yield from ds.storage.get_episodes(indices[start:start + _EPISODES_PER_READ])


def _check_hdf5_sizes(path):
    """check_hdf5_size on every dataset of the HDF5 file at path, before minari reads it."""
    def check(_, obj):
        if isinstance(obj, h5py.Dataset):
            check_hdf5_size(obj, path)

    with h5py.File(path, "r") as f:
        f.visititems(check)


def _require_file(path, dataset_id, folder):
    """DatasetError unless path (a file, or the data folder of a non-HDF5 dataset) exists."""
    if not path.exists():
        raise DatasetError(f"Minari dataset '{dataset_id}' at '{folder}' is incomplete: "
                           f"'{path}' is missing")


def _ref_score(metadata, key, where):
    """metadata[key] as a float; None when absent."""
    value = metadata.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DatasetError(f"{where}: '{key}' is {value!r}, expected a number")
    return float(value)


def _unknown_id_message(dataset_id, dataset_root):
    root = resolve_root(dataset_root)
    own = _OWN_ID.fullmatch(dataset_id)
    command = (f"python -m mindspore_rl_ext.data.generate --env {own['env']} --level "
               f"{own['level']}" if own else GENERATE_COMMAND)
    if dataset_root is not None:
        command += f" --dataset-root {dataset_root}"
    return (f"Minari dataset '{dataset_id}' is not in the local root '{root}' (nothing is "
            f"downloaded). Local ids: {local_dataset_ids(dataset_root) or 'none'}. Generate "
            f"one with: {command}")
