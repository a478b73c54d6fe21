"""Property-based: malformed configs and dataset files end in our own error type with a
message, never a raw traceback from deep inside yaml, h5py or MindSpore."""
import os
import pathlib
import shutil
import tempfile

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindspore_rl_ext.algorithms.iql.config import load_config
from mindspore_rl_ext.core.errors import ConfigError, DatasetError
from mindspore_rl_ext.data import load_d4rl_hdf5, load_minari

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
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


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_as_yaml_config(text):
    check_config_text(text)


@SETTINGS
@given(near_valid)
def test_near_valid_yaml_configs(data):
    check_config_text(yaml.safe_dump(data))


ARRAY_KEYS = ["observations", "actions", "rewards", "terminals", "timeouts", "next_observations"]
dtypes = st.sampled_from(["float32", "float64", "int32", "bool", "S3"])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@SETTINGS
@given(st.dictionaries(st.sampled_from(ARRAY_KEYS), st.tuples(dtypes, shapes), max_size=6),
       st.booleans(), st.integers(0, 400))
def test_malformed_d4rl_files(arrays, truncate, cut):
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
            assert str(e)


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_as_dataset_file(blob):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data.hdf5")
        with open(path, "wb") as f:
            f.write(blob)
        try:
            load_d4rl_hdf5(path)
        except DatasetError as e:
            assert str(e)


@pytest.fixture(scope="module")
def minari_dataset(tmp_path_factory):
    """A generated 120-step random Hopper dataset; tests copy it before damaging it."""
    from mindspore_rl_ext.data.generate import generate_dataset

    root = tmp_path_factory.mktemp("minari_src")
    generate_dataset("hopper", "random", steps=120, seed=0, dataset_root=str(root),
                     dataset_id="fuzz/hopper/random-v0")
    return root


@SETTINGS
@given(st.data())
def test_damaged_minari_files(minari_dataset, data):
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "root")
        shutil.copytree(minari_dataset, root)
        files = sorted(str(p) for p in pathlib.Path(root).rglob("*") if p.is_file())
        target = data.draw(st.sampled_from(files))
        size = os.path.getsize(target)
        how = data.draw(st.sampled_from(["truncate", "garbage", "delete"]))
        if how == "truncate":
            with open(target, "r+b") as f:
                f.truncate(data.draw(st.integers(0, max(0, size - 1))))
        elif how == "garbage":
            with open(target, "r+b") as f:
                f.seek(data.draw(st.integers(0, max(0, size - 1))))
                f.write(data.draw(st.binary(min_size=1, max_size=64)))
        else:
            os.remove(target)
        try:
            load_minari("fuzz/hopper/random-v0", root)
        except DatasetError as e:
            assert str(e)
