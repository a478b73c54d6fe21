"""A sweep file: the YAML grid of algorithms x datasets x seeds, checked and expanded.

::

    algorithms: [iql, bc]                 # names of sweep.algorithms.ALGORITHMS
    datasets:                             # Minari ids (folder: hopper-medium-v0), .hdf5/.npz
      - msrl_ext/hopper/medium-v0         #   paths (relative to this file's folder; folder:
                                          #   the file name), 'default', or mappings:
      - {dataset: data/x.hdf5, env_id: Hopper-v5, name: x}
    seeds: [0, 1, 2]                      # or a count: 3 -> 0, 1, 2
    steps: 100000                         # budget: gradient steps (or episodes: N)
    overrides: {trainer_params: {eval_per_episode: 5}}   # every run's algorithm YAML
    algorithm_overrides: {bc: {...}}      # per algorithm, after overrides
    num_cpus: 1                           # per run; MindSpore threads match it
    max_retries: 1                        # Ray retries of a run whose worker died
    device: Auto                          # the entry points' device target

Every problem is a ConfigError naming the file and the grid entry, raised before any
run starts: unknown keys, algorithms or datasets, and override keys the entry point's
config refuses.
"""
import copy
import difflib
import os
import tempfile
from dataclasses import dataclass

import yaml

from mindspore_rl_ext.core.config import load_yaml
from mindspore_rl_ext.core.device import DEVICE_TARGETS
from mindspore_rl_ext.core.errors import ConfigError, MsRlExtError
from mindspore_rl_ext.sweep.algorithms import ALGORITHMS, Algorithm

DEFAULTS = {"algorithms": None, "datasets": None, "seeds": None, "steps": None,
            "episodes": None, "overrides": {}, "algorithm_overrides": {}, "num_cpus": 1,
            "max_retries": 1, "device": "Auto"}
D4RL_SUFFIXES = (".hdf5", ".h5", ".npz")
DATASET_KEYS = ("dataset", "env_id", "dataset_root", "name")


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` merged in, nested mappings key by key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Dataset:
    """One grid dataset: ``label`` names its folder, ``params`` its dataset_params."""

    label: str
    params: dict


@dataclass(frozen=True)
class Run:
    """One training of the grid."""

    algorithm: Algorithm
    dataset: Dataset
    seed: int
    episodes: int
    overrides: dict  # the algorithm YAML's overrides before the run's own (seed, folders)

    @property
    def key(self) -> str:
        return f"{self.algorithm.name}/{self.dataset.label}/seed{self.seed}"

    def folder(self, out: str) -> str:
        return os.path.join(out, self.algorithm.name, self.dataset.label, f"seed{self.seed}")

    def settings(self) -> dict:
        """What decides the run's result: compared when a sweep restarts in its OUT."""
        return {"episodes": self.episodes, "dataset_params": self.dataset.params,
                "overrides": self.overrides}

    def write_inputs(self, run_dir: str, tensorboard: bool) -> tuple[str, str]:
        """Write ``env.yaml`` and ``algo.yaml`` into ``run_dir``; return their paths."""
        os.makedirs(run_dir, exist_ok=True)
        run_dir = os.path.abspath(run_dir)
        algo = deep_merge(self.overrides, self.algorithm.run_overrides(
            self.seed, self.episodes, run_dir, tensorboard))
        env_yaml, algo_yaml = os.path.join(run_dir, "env.yaml"), os.path.join(run_dir, "algo.yaml")
        for path, data in ((env_yaml, {"dataset_params": self.dataset.params}), (algo_yaml, algo)):
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                yaml.safe_dump(data, f, sort_keys=False)
            os.replace(path + ".tmp", path)
        return env_yaml, algo_yaml

    def argv(self, run_dir: str, device: str) -> list[str]:
        run_dir = os.path.abspath(run_dir)
        return self.algorithm.argv(os.path.join(run_dir, "env.yaml"),
                                   os.path.join(run_dir, "algo.yaml"), self.episodes,
                                   run_dir, device)


@dataclass
class Sweep:
    """A checked sweep file and its runs."""

    path: str
    algorithms: list
    datasets: list
    seeds: list
    num_cpus: int
    max_retries: int
    device: str
    runs: list

    def grid(self) -> dict:
        return {"algorithms": [a.name for a in self.algorithms],
                "datasets": [d.label for d in self.datasets], "seeds": list(self.seeds)}


def _fail(path, where, message):
    raise ConfigError(f"sweep file '{path}': {where}: {message}")


def _dataset(path, index, entry):
    where = f"datasets[{index}]"
    if isinstance(entry, str):
        entry = {"dataset": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("dataset"), str):
        _fail(path, where, f"expected a dataset id/path or a mapping with 'dataset', got {entry!r}")
    unknown = sorted(set(entry) - set(DATASET_KEYS))
    if unknown:
        _fail(path, where, f"unknown key '{unknown[0]}'; valid keys: {', '.join(DATASET_KEYS)}")
    params = {k: entry[k] for k in DATASET_KEYS[:3] if entry.get(k) is not None}
    spec = params["dataset"]
    if spec.lower().endswith(D4RL_SUFFIXES):
        spec = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(path)), spec))
        if not os.path.isfile(spec):
            _fail(path, where, f"dataset file '{spec}' does not exist")
        params["dataset"] = spec
        label = os.path.splitext(os.path.basename(spec))[0]
    else:  # a Minari id: namespace/env/name-vN -> env-name-vN
        parts = spec.split("/")
        label = "-".join(parts[1:] if len(parts) > 2 else parts)
    label = entry.get("name") or label
    if not isinstance(label, str) or not label or "/" in label or label.startswith("."):
        _fail(path, where, f"name must be a folder name, got {label!r}")
    return Dataset(label, params)


def _check_dataset(path, index, dataset):
    """Load the dataset (the error a run would hit, now); its average return and score."""
    from mindspore_rl_ext.data import load_dataset

    p = dataset.params
    try:
        ds = load_dataset(p["dataset"], p.get("dataset_root"), p.get("env_id"))
    except (MsRlExtError, OSError) as e:
        _fail(path, f"datasets[{index}] ('{p['dataset']}')", f"cannot be loaded: {e}")
    returns = ds.episode_returns()
    average = float(returns.mean()) if len(returns) else None
    try:
        score = float(ds.normalized_score(average)) if average is not None else None
    except MsRlExtError:
        score = None
    return {"dataset": p["dataset"], "episodes": int(len(returns)), "average_return": average,
            "average_normalized_score": score}


def _check_config(path, algorithm, dataset, overrides, seed):
    """The config the entry point would build for this grid entry (ConfigError naming it)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(algorithm, dataset, seed, 1, overrides)
        env_yaml, algo_yaml = run.write_inputs(tmp, False)
        try:
            return algorithm.load_config(env_yaml, algo_yaml)
        except ConfigError as e:
            message = str(e).replace(f"'{algo_yaml}'", "overrides").replace(
                f"'{env_yaml}'", "dataset entry")
            _fail(path, f"algorithm '{algorithm.name}', dataset '{dataset.label}'", message)


def load_sweep(path: str, check_datasets: bool = True) -> tuple["Sweep", dict]:
    """Read and check the sweep file; return the sweep and, per dataset label, its
    average return and normalised score (``{}`` without ``check_datasets``)."""
    raw = load_yaml(path)
    unknown = [k for k in raw if k not in DEFAULTS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(DEFAULTS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        _fail(path, f"key '{unknown[0]}'", f"unknown{hint}; valid keys: {', '.join(DEFAULTS)}")
    s = dict(DEFAULTS, **raw)
    for key in ("algorithms", "datasets"):
        if not isinstance(s[key], list) or not s[key]:
            _fail(path, key, f"expected a non-empty list, got {s[key]!r}")
    algorithms = []
    for i, name in enumerate(s["algorithms"]):
        if name not in ALGORITHMS:
            _fail(path, f"algorithms[{i}]", f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
        algorithms.append(ALGORITHMS[name])
    seeds = list(range(s["seeds"])) if _int(s["seeds"]) and s["seeds"] > 0 else s["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(_int(k) and k >= 0 for k in seeds):
        _fail(path, "seeds", f"expected a count >= 1 or a list of ints >= 0, got {s['seeds']!r}")
    if (s["steps"] is None) == (s["episodes"] is None):
        _fail(path, "steps/episodes", "give exactly one budget: steps (gradient steps) or episodes")
    budget = "steps" if s["steps"] is not None else "episodes"
    if not _int(s[budget]) or s[budget] < 1:
        _fail(path, budget, f"expected an int >= 1, got {s[budget]!r}")
    for key in ("num_cpus", "max_retries"):
        if not _int(s[key]) or s[key] < (1 if key == "num_cpus" else 0):
            _fail(path, key, f"expected an int >= {1 if key == 'num_cpus' else 0}, got {s[key]!r}")
    if s["device"] not in DEVICE_TARGETS:
        _fail(path, "device", f"expected one of {', '.join(DEVICE_TARGETS)}, got {s['device']!r}")
    if not isinstance(s["overrides"], dict):
        _fail(path, "overrides", f"expected a mapping, got {s['overrides']!r}")
    per_algo = s["algorithm_overrides"]
    if not isinstance(per_algo, dict):
        _fail(path, "algorithm_overrides", f"expected a mapping, got {per_algo!r}")
    for name, value in per_algo.items():
        if name not in s["algorithms"]:
            _fail(path, f"algorithm_overrides.{name}", f"is not one of the sweep's algorithms "
                  f"({', '.join(s['algorithms'])})")
        if not isinstance(value, dict):
            _fail(path, f"algorithm_overrides.{name}", f"expected a mapping, got {value!r}")
    datasets = [_dataset(path, i, entry) for i, entry in enumerate(s["datasets"])]
    labels = [d.label for d in datasets]
    for label in labels:
        if labels.count(label) > 1:
            _fail(path, "datasets", f"two datasets share the folder name '{label}'; give one a 'name'")
    averages = {d.label: _check_dataset(path, i, d)
                for i, d in enumerate(datasets)} if check_datasets else {}
    runs = []
    for algorithm in algorithms:
        overrides = deep_merge(deep_merge(algorithm.base_overrides(), s["overrides"]),
                               per_algo.get(algorithm.name, {}))
        for dataset in datasets:
            config = _check_config(path, algorithm, dataset, overrides, seeds[0])
            episodes = s["episodes"]
            if budget == "steps":
                per = config["trainer_params"]["n_steps_per_episode"]
                if s["steps"] % per:
                    _fail(path, f"algorithm '{algorithm.name}', dataset '{dataset.label}'",
                          f"steps {s['steps']} is not a multiple of trainer_params."
                          f"n_steps_per_episode ({per})")
                episodes = s["steps"] // per
            runs += [Run(algorithm, dataset, seed, episodes, overrides) for seed in seeds]
    return Sweep(path, algorithms, datasets, seeds, s["num_cpus"], s["max_retries"],
                 s["device"], runs), averages
