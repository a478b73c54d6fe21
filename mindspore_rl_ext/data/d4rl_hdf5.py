"""D4RL-format files: one flat array per key, as ``d4rl`` datasets ship, in HDF5.

Keys read: ``observations`` (N, obs) float, ``actions`` (N, act) float, ``rewards`` (N,)
float, ``terminals`` (N,) and ``timeouts`` (N,) as bool or 0/1 numbers, optional
``next_observations`` (N, obs) float. Optional file attributes (written by
:func:`save_d4rl_hdf5`): ``env_id``, ``ref_min_score``, ``ref_max_score``,
``metadata_json``. Other keys (``infos/*``, ``metadata/*``) are ignored.

An ``.npz`` with the same keys is read the same way (the SAC trainer's medium-replay
dump); its optional ``metadata`` (or ``metadata_json``) entry is a JSON string whose
``env_id`` is used.

Semantics (those of ``d4rl.qlearning_dataset``, made explicit):

* ``next_observations`` present: every row is a transition. An episode ends at each row
  with ``terminals`` or ``timeouts`` set, and at the last row.
* ``next_observations`` absent (original D4RL files): the next observation of row i is
  ``observations[i+1]``. A row with ``timeouts`` set is dropped, because row i+1 is
  already the next episode's reset; the last row is dropped too (no successor). An
  episode ends after a ``terminals`` row (its next observation is then the reset state,
  as in D4RL; harmless, since terminals are not bootstrapped) or before a dropped row;
  in the latter case the kept row gets ``timeouts = 1``. Episode returns therefore miss
  the reward of each dropped row, as in D4RL.

Reference scores: the file's attributes, else the D4RL constants of the env family
found in ``env_id`` or the file name (``hopper_medium-v2.hdf5`` -> hopper), else None.
"""
import json
import os
import tempfile

import h5py
import numpy as np

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.data import scores
from mindspore_rl_ext.data.transitions import TransitionDataset

FLOAT_KEYS = {"observations": 2, "actions": 2, "rewards": 1, "next_observations": 2}
FLAG_KEYS = ("terminals", "timeouts")
REQUIRED_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")
_CHUNK_ROWS = 1 << 16
MAX_COMPRESSION_RATIO = 1100  # deflate, HDF5's usual filter, stays below about 1032:1


def load_d4rl_hdf5(path, env_id=None):
    """Read a D4RL-format HDF5 (or .npz) file into a validated TransitionDataset.

    DatasetError naming the file for a missing, damaged or malformed one."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"D4RL-format file '{path}' does not exist")
    is_npz = path.lower().endswith(".npz")
    with read_errors_as(DatasetError, f"'{path}' is not a readable "
                                      f"{'.npz' if is_npz else 'HDF5'} file (truncated, "
                                      f"corrupt or another format)"):
        if is_npz:
            with np.load(path, allow_pickle=False) as f:
                arrays = _read_arrays(f, path)
                attrs = _npz_attrs(f, path)
        else:
            with h5py.File(path, "r") as f:
                arrays = _read_arrays(f, path)
                attrs = dict(f.attrs)
        has_next = "next_observations" in arrays
        arrays = _transitions(arrays, path)
        env_id = env_id or _text_attr(attrs, "env_id", path)
        ref_min, ref_max = _ref_scores(attrs, env_id, path)
        metadata = _metadata(attrs, path)
    metadata["d4rl_next_observations"] = "stored" if has_next else "observations[i+1]"
    return TransitionDataset(**arrays, env_id=env_id, ref_min_score=ref_min,
                             ref_max_score=ref_max, source=path, metadata=metadata).validate()


def save_d4rl_hdf5(dataset, path):
    """Write dataset (with next_observations, so it reads back unchanged) atomically:
    a temporary file in the same folder, then os.replace."""
    dataset.validate()
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DatasetError(f"cannot write '{path}': folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            for key in FLOAT_KEYS:
                f.create_dataset(key, data=getattr(dataset, key))
            for key in FLAG_KEYS:
                f.create_dataset(key, data=getattr(dataset, key).astype(bool))
            if dataset.env_id is not None:
                f.attrs["env_id"] = dataset.env_id
            if dataset.ref_min_score is not None and dataset.ref_max_score is not None:
                f.attrs["ref_min_score"] = dataset.ref_min_score
                f.attrs["ref_max_score"] = dataset.ref_max_score
            f.attrs["metadata_json"] = json.dumps(dataset.metadata, default=str)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _read_arrays(f, path):
    """Check keys, ranks, dtypes and lengths, then read float keys as float32 and flags.
    f: an h5py.File (lazy datasets) or an NpzFile (arrays)."""
    dsets = {key: f[key] for key in (*REQUIRED_KEYS, "next_observations") if key in f}
    for key in REQUIRED_KEYS:
        if not isinstance(dsets.get(key), (h5py.Dataset, np.ndarray)):
            raise DatasetError(f"'{path}' has no dataset '{key}': a D4RL file needs "
                               f"{', '.join(REQUIRED_KEYS)} (and optionally next_observations)")
    n = dsets["observations"].shape[0] if dsets["observations"].ndim else 0
    if n == 0:
        raise DatasetError(f"'{path}': 'observations' has shape {dsets['observations'].shape}, "
                           f"expected (N, obs_dim) with N > 0")
    arrays = {}
    for key, dset in dsets.items():
        if isinstance(dset, h5py.Dataset):
            check_hdf5_size(dset, path)
        ndim = FLOAT_KEYS.get(key, 1)
        if dset.ndim != ndim or dset.shape[0] != n:
            raise DatasetError(f"'{path}': '{key}' has shape {dset.shape}, expected "
                               f"{'(N, dim)' if ndim == 2 else '(N,)'} with N={n} (the "
                               f"length of 'observations')")
        if key in FLAG_KEYS:
            if not (dset.dtype == bool or np.issubdtype(dset.dtype, np.number)):
                raise DatasetError(f"'{path}': '{key}' has dtype {dset.dtype}, expected bool "
                                   f"or 0/1 numbers")
            flags = dset[()]
            if not ((flags == 0) | (flags == 1)).all():
                raise DatasetError(f"'{path}': '{key}' holds values other than 0 and 1")
            arrays[key] = flags.astype(np.float32)
        else:
            if not np.issubdtype(dset.dtype, np.floating):
                raise DatasetError(f"'{path}': '{key}' has dtype {dset.dtype}, expected a "
                                   f"float dtype")
            arrays[key] = (np.asarray(dset, np.float32) if isinstance(dset, np.ndarray)
                           else dset.astype(np.float32)[()])
    obs_shape = arrays["observations"].shape
    if "next_observations" in arrays and arrays["next_observations"].shape != obs_shape:
        raise DatasetError(f"'{path}': 'next_observations' has shape "
                           f"{arrays['next_observations'].shape}, expected {obs_shape} like "
                           f"'observations'")
    return arrays


def check_hdf5_size(dset: h5py.Dataset, path) -> None:
    """DatasetError unless ``dset`` and each of its chunks fit in the file at ``path``
    (times MAX_COMPRESSION_RATIO when filtered). From the header alone, before reading: a
    damaged header can claim terabytes, which h5py would try to allocate."""
    plist = dset.id.get_create_plist()
    if dset.is_virtual or plist.get_external_count():
        return  # its data lives in other files
    limit = os.path.getsize(path) * (MAX_COMPRESSION_RATIO if plist.get_nfilters() else 1)
    chunk = int(np.prod(dset.chunks)) * dset.dtype.itemsize if dset.chunks else 0
    if max(dset.nbytes, chunk) > limit:
        raise DatasetError(f"'{path}': dataset '{dset.name}' claims shape {dset.shape} of "
                           f"{dset.dtype} (chunks {dset.chunks}), more than the file can "
                           f"hold: its header is damaged")


def _transitions(arrays, path):
    """Apply the qlearning semantics; returns TransitionDataset's array fields."""
    terminals, timeouts = arrays["terminals"], arrays["timeouts"]
    if "next_observations" in arrays:
        ends = np.maximum(terminals, timeouts)
        ends[-1] = 1
        arrays["timeouts"] = ends * (1 - terminals)
    else:
        keep = timeouts == 0
        keep[-1] = False
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            raise DatasetError(f"'{path}': no transition left: every row is a timeout or the "
                               f"last row")
        arrays["next_observations"] = arrays["observations"][idx + 1]
        for key in ("observations", "actions", "rewards", "terminals"):
            arrays[key] = _compact_rows(arrays[key], idx)
        cut = ~keep[idx + 1]
        arrays["timeouts"] = (cut & (arrays["terminals"] == 0)).astype(np.float32)
    ends = np.flatnonzero(np.maximum(arrays["terminals"], arrays["timeouts"])) + 1
    arrays["episode_ends"] = ends.astype(np.int64)
    return arrays


def _compact_rows(arr, idx):
    """arr[idx] for increasing idx, in place (chunked, so no full-size copy); a view."""
    for start in range(0, idx.size, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, idx.size)
        arr[start:stop] = arr[idx[start:stop]]
    return arr[:idx.size]


def _npz_attrs(f, path):
    """The attributes an .npz carries in its JSON 'metadata' / 'metadata_json' entry."""
    key = next((k for k in ("metadata_json", "metadata") if k in f), None)
    if key is None:
        return {}
    text = str(f[key])
    env_id = _json_object(text, key, path).get("env_id")
    return {"metadata_json": text, **({"env_id": env_id} if env_id else {})}


def _metadata(attrs, path):
    """The JSON object of the 'metadata_json' attribute; {} when absent."""
    if "metadata_json" not in attrs:
        return {}
    return _json_object(_text_attr(attrs, "metadata_json", path), "metadata_json", path)


def _json_object(text, key, path):
    """The dict that entry ``key`` holds as JSON text."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise DatasetError(f"'{path}': '{key}' is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise DatasetError(f"'{path}': '{key}' holds a JSON {type(value).__name__}, expected "
                           f"a JSON object")
    return value


def _ref_scores(attrs, env_id, path):
    if "ref_min_score" in attrs and "ref_max_score" in attrs:
        try:
            return float(attrs["ref_min_score"]), float(attrs["ref_max_score"])
        except (TypeError, ValueError) as err:
            raise DatasetError(f"'{path}': attributes 'ref_min_score' and 'ref_max_score' must "
                               f"be numbers ({err})") from err
    for name in (env_id, os.path.basename(path)):
        if name is not None:
            try:
                return scores.D4RL_REF_SCORES[scores.env_family(name)]
            except DatasetError:
                continue
    return None, None


def _text_attr(attrs, key, path):
    """String attribute ``key`` (bytes decoded); None when absent."""
    value = attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode()
    if value is not None and not isinstance(value, str):
        raise DatasetError(f"'{path}': attribute '{key}' is {value}, expected a string")
    return value
