"""Malformed configs and damaged data, policy and model files end in our own error type,
naming the file, never in a raw exception from yaml, h5py, minari, NumPy or MindSpore.

The default run is deterministic (hypothesis derandomised, fixed damage cases), so it
cannot pass or fail by chance; the wider random fuzzing is marked slow (pytest -m slow).
"""
import functools
import json
import os
import shutil
import tempfile

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis import strategies as st

from helpers import synthetic_dataset
from mindspore_rl_ext.algorithms.iql.config import load_config
from mindspore_rl_ext.core.checkpoint import load_params
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, DatasetError
from mindspore_rl_ext.data import NumpyBehaviourPolicy, load_d4rl_hdf5, load_minari
from mindspore_rl_ext.data.behaviour import HEAD_KEYS
from mindspore_rl_ext.data.d4rl_hdf5 import save_d4rl_hdf5
from mindspore_rl_ext.pretrained import zoo as model_zoo

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
FIXED = settings(derandomize=True, database=None, max_examples=100, **_COMMON)
# the slow random runs keep their example database (to replay a failure) outside the
# repository, under the system temp dir
WIDE = settings(max_examples=1000, database=DirectoryBasedExampleDatabase(os.path.join(
    tempfile.gettempdir(), "mindspore_rl_ext_hypothesis", "examples")), **_COMMON)

# ----------------------------------------------------------------------------- YAML
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)),
    max_leaves=8)
SECTIONS = ["domain", "seed", "dataset_params", "policy_params", "learner_params",
            "trainer_params", "eval_env_params", "collect_env_params"]
KEYS = ["expectile", "temperature", "batch_size", "hidden_sizes", "actor_lr", "gamma",
        "n_steps_per_episode", "dropout_rate", "reward_transform", "max_ckpt_num", "name"]
near_valid = st.dictionaries(
    st.sampled_from(SECTIONS),
    st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=3)), max_size=3)


def check_config_text(text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "c.yaml")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
        try:
            load_config(path)
        except ConfigError as e:
            assert str(e)


@FIXED
@given(st.text(max_size=200))
def test_arbitrary_text_as_yaml_config(text):
    check_config_text(text)


@FIXED
@given(near_valid)
def test_near_valid_yaml_configs(data):
    check_config_text(yaml.safe_dump(data))


@pytest.mark.slow
@WIDE
@given(st.one_of(st.text(max_size=400), near_valid.map(yaml.safe_dump)))
def test_yaml_configs_random(text):
    check_config_text(text)


# ----------------------------------------------------------------------------- D4RL HDF5
ARRAY_KEYS = ["observations", "actions", "rewards", "terminals", "timeouts", "next_observations"]
dtypes = st.sampled_from(["float32", "float64", "int32", "bool", "S3"])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)
malformed_arrays = st.dictionaries(st.sampled_from(ARRAY_KEYS), st.tuples(dtypes, shapes),
                                   max_size=6)


def check_malformed_d4rl(arrays, truncate, cut):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data.hdf5")
        with h5py.File(path, "w") as f:
            for key, (dtype, shape) in arrays.items():
                f.create_dataset(key, data=np.zeros(shape, dtype=dtype))
        if truncate:
            with open(path, "r+b") as f:
                f.truncate(cut)
        try:
            load_d4rl_hdf5(path, env_id="Hopper-v5")
        except DatasetError as e:
            assert path in str(e)


def check_bytes_as_d4rl(blob, suffix):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data" + suffix)
        with open(path, "wb") as f:
            f.write(blob)
        with pytest.raises(DatasetError) as err:
            load_d4rl_hdf5(path)
        assert path in str(err.value)


@FIXED
@given(malformed_arrays, st.booleans(), st.integers(0, 400))
def test_malformed_d4rl_files(arrays, truncate, cut):
    check_malformed_d4rl(arrays, truncate, cut)


@FIXED
@given(st.binary(max_size=600), st.sampled_from([".hdf5", ".npz"]))
def test_random_bytes_as_dataset_file(blob, suffix):
    check_bytes_as_d4rl(blob, suffix)


@pytest.mark.slow
@WIDE
@given(malformed_arrays, st.booleans(), st.integers(0, 4000))
def test_malformed_d4rl_files_random(arrays, truncate, cut):
    check_malformed_d4rl(arrays, truncate, cut)


@pytest.mark.slow
@WIDE
@given(st.binary(max_size=4000), st.sampled_from([".hdf5", ".npz"]))
def test_random_bytes_as_dataset_file_random(blob, suffix):
    check_bytes_as_d4rl(blob, suffix)


# ----------------------------------------------------------------------------- damaged files
# Each kind: a folder of valid files (written by `make`) and `load`, which reads them and
# checks what it returns. Damaging any one file must give a valid result or `error` whose
# message names the damaged file or, for the Minari data (a NaN found after reading) and
# a deleted zoo model (not found), the dataset id or the zoo folder.
MINARI_ID, MINARI_STEPS = "fuzz/hopper/random-v0", 120


def make_minari(folder):
    from mindspore_rl_ext.data.generate import generate_dataset

    generate_dataset("hopper", "random", steps=MINARI_STEPS, seed=0, dataset_root=str(folder),
                     dataset_id=MINARI_ID, progress=False)


def read_minari(folder):
    assert len(load_minari(MINARI_ID, folder)) == MINARI_STEPS


def make_d4rl(folder, suffix):
    folder.mkdir()
    ds = synthetic_dataset(n=60, episode_len=20)
    if suffix == ".hdf5":
        save_d4rl_hdf5(ds, folder / "d.hdf5")
    else:
        np.savez(folder / "d.npz", observations=ds.observations, actions=ds.actions,
                 rewards=ds.rewards, terminals=ds.terminals, timeouts=ds.timeouts,
                 metadata=json.dumps({"env_id": "Hopper-v5"}))


def read_d4rl(folder, suffix):
    ds = load_d4rl_hdf5(folder / f"d{suffix}")
    # a damaged attribute *name* leaves an optional attribute absent: the file then records
    # no env id (a run must name its environment), which is not a wrong one
    assert len(ds) > 0 and ds.env_id in ("Hopper-v5", None)


def policy_weights():
    rng = np.random.default_rng(0)
    weights = {"trunk_w0": rng.normal(0, 0.5, (11, 16)), "trunk_b0": np.zeros(16),
               "mean_w": rng.normal(0, 0.5, (16, 3)), "log_std_w": rng.normal(0, 0.5, (16, 3))}
    weights.update({key: np.full(3, 1.0 if key == "action_high" else 0.0)
                    for key in HEAD_KEYS if key not in weights})
    return {key: value.astype(np.float32) for key, value in weights.items()}


def make_policy(folder):
    folder.mkdir()
    NumpyBehaviourPolicy.save(folder / "p.npz", policy_weights(), {
        "env_id": "Hopper-v5", "level": "medium", "average_return": 1.0,
        "normalized_score": 1.0, "train_steps": 1, "seed": 0})


def read_policy(folder):
    policy = NumpyBehaviourPolicy.load(folder / "p.npz")
    assert policy(np.zeros(11), None, deterministic=True).shape == (3,)


def make_zoo(folder, keep_sha):
    from mindspore_rl_ext.utils.valuefuncs import Iql

    model = Iql(5, 3, hidden_dim=16).save_pretrained("t/x-v0", zoo_dir=folder)
    if not keep_sha:  # then model.ckpt damage reaches the checkpoint reader
        params = json.loads((model / model_zoo.PARAMS_FILE).read_text())
        del params["weights_sha256"]
        (model / model_zoo.PARAMS_FILE).write_text(json.dumps(params))


def read_zoo(folder):
    """Every file read of from_pretrained, without building the network (slow)."""
    model = model_zoo.find_model("iql", "t/x-v0", folder)
    path = model_zoo.weights_path(model, model_zoo.read_params(model, "iql"))
    assert load_params(str(path))


KINDS = {
    "minari": (make_minari, read_minari, DatasetError, lambda root: [MINARI_ID]),
    "d4rl_hdf5": (functools.partial(make_d4rl, suffix=".hdf5"),
                  functools.partial(read_d4rl, suffix=".hdf5"), DatasetError, lambda root: []),
    "d4rl_npz": (functools.partial(make_d4rl, suffix=".npz"),
                 functools.partial(read_d4rl, suffix=".npz"), DatasetError, lambda root: []),
    "policy": (make_policy, read_policy, DatasetError, lambda root: []),
    "zoo": (functools.partial(make_zoo, keep_sha=True), read_zoo, CheckpointError,
            lambda root: [str(root)]),
    "zoo_no_sha": (functools.partial(make_zoo, keep_sha=False), read_zoo, CheckpointError,
                   lambda root: [str(root)]),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def source(request, tmp_path_factory):
    """(kind, folder of valid files); tests copy it before damaging it."""
    folder = tmp_path_factory.mktemp(request.param) / "files"
    KINDS[request.param][0](folder)
    return request.param, folder


def files_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def truncate(path, at):
    with open(path, "r+b") as f:
        f.truncate(at)


def overwrite(path, at, blob):
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(blob)


def damages(size, how):
    """The fixed damages of a file of ``size`` bytes: [(label, function(path))]."""
    if how == "delete":
        return [("delete", os.remove)]
    if how == "truncate":
        cuts = sorted({0, 1, size // 4, size // 2, 3 * size // 4, max(0, size - 1)})
        return [(f"truncate at {at}", functools.partial(truncate, at=at)) for at in cuts]
    offsets = sorted({size * k // 16 for k in range(16)} | {max(0, size - 1)})
    return [(f"{blob[:1]!r} x{len(blob)} at {at}", functools.partial(overwrite, at=at, blob=blob))
            for at in offsets for blob in (b"\x01", b"\xff" * 16)]


def check_damaged(kind, source_folder, work, rel, damage):
    """Damage file ``rel`` of a copy of source_folder and read the copy (see KINDS)."""
    _, read, error, also_named = KINDS[kind]
    root = work / "copy"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(source_folder, root)
    target = root / rel
    damage(target)
    try:
        read(root)
    except error as err:
        names = [str(target), *also_named(root)]
        assert any(name in str(err) for name in names), f"{names} not in: {err}"


@pytest.mark.parametrize("how", ["delete", "truncate", "garbage"])
def test_damaged_files_fixed_cases(source, tmp_path, how):
    kind, folder = source
    for rel in files_in(folder):
        for label, damage in damages(os.path.getsize(folder / rel), how):
            try:
                check_damaged(kind, folder, tmp_path, rel, damage)
            except BaseException as err:
                err.add_note(f"{kind}: {label} of {rel}")
                raise


@pytest.mark.slow
@WIDE
@given(data=st.data())
def test_damaged_files_random(source, tmp_path, data):
    kind, folder = source
    rel = data.draw(st.sampled_from(files_in(folder)), label="file")
    size = os.path.getsize(folder / rel)
    at = data.draw(st.integers(0, max(0, size - 1)), label="offset")
    damage = data.draw(st.sampled_from([
        os.remove, functools.partial(truncate, at=at),
        functools.partial(overwrite, at=at, blob=data.draw(st.binary(min_size=1, max_size=64),
                                                           label="garbage"))]), label="damage")
    check_damaged(kind, folder, tmp_path, rel, damage)


def test_bad_heap_in_minari_data_file(tmp_path):
    """Regression: this one byte made h5py raise RuntimeError('Unable to synchronously
    check link existence (bad heap free list)'), which escaped load_minari."""
    make_minari(tmp_path)
    data_file = tmp_path / MINARI_ID / "data" / "main_data.hdf5"
    overwrite(data_file, 50297, b"\x01")
    with pytest.raises(DatasetError) as err:
        load_minari(MINARI_ID, tmp_path)
    assert f"data file '{data_file}' is truncated or corrupt" in str(err.value)
