"""The local model zoo of pretrained IQL value functions and inverse dynamics models.

Layout (one folder per model; ``<name>`` is a dataset id such as
``msrl_ext/hopper/medium-replay-v0`` and may contain slashes)::

    <zoo>/iql/<name>/params.json       config, observation normaliser, training record
    <zoo>/iql/<name>/model.ckpt        weights (MindSpore checkpoint, CRC-checked)
    <zoo>/invdyn/<name>/params.json
    <zoo>/invdyn/<name>/model.ckpt

Where ``from_pretrained`` looks, in order:

1. the ``zoo_dir`` argument, when given (then *only* there);
2. ``$MSRL_EXT_ZOO``, else ``~/.mindspore_rl_ext/zoo`` (the user zoo, where
   ``python -m mindspore_rl_ext.utils.pretrain_zoo`` writes);
3. the zoo shipped inside the package (``mindspore_rl_ext/zoo``), so the default
   dataset's models work on a fresh machine without training.

``params.json`` keeps CleanDiffuser's keys (``normalizers.state.{mean,std}``, ``config``)
and adds ``kind``, ``model_class``, ``name``, ``weights`` (file name) with its SHA-256,
``training`` and ``metrics``. Unlike CleanDiffuser, which takes the first ``*.ckpt`` in
``os.listdir`` order and returns ``(None, None)`` when nothing is there, the weights file
is named in ``params.json`` and checked against its hash, and a missing model raises
:class:`ModelNotFoundError` listing what the zoo holds and the command that trains one.
"""
import json
import os
import pathlib
import sys

import numpy as np

from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.core.files import file_sha256, read_errors_as
from mindspore_rl_ext.data.default_dataset import DEFAULT_DATASET_ID

ZOO_ENV_VAR = "MSRL_EXT_ZOO"
DEFAULT_USER_ZOO = pathlib.Path("~") / ".mindspore_rl_ext" / "zoo"
SHIPPED_ZOO = pathlib.Path(__file__).resolve().parent.parent / "zoo"
KINDS = ("iql", "invdyn")
PARAMS_FILE = "params.json"
WEIGHTS_FILE = "model.ckpt"
FORMAT_VERSION = 1


class ModelNotFoundError(CheckpointError):
    """No pretrained model of that kind and name in any zoo folder searched."""


def user_zoo_dir(zoo_dir=None):
    """The zoo folder training writes to: ``zoo_dir``, else $MSRL_EXT_ZOO, else
    ~/.mindspore_rl_ext/zoo."""
    if zoo_dir is not None:
        return pathlib.Path(zoo_dir).expanduser()
    env = os.environ.get(ZOO_ENV_VAR)
    return pathlib.Path(env).expanduser() if env else DEFAULT_USER_ZOO.expanduser()


def search_dirs(zoo_dir=None):
    """Zoo folders searched by from_pretrained, in order (see the module docstring)."""
    if zoo_dir is not None:
        return [user_zoo_dir(zoo_dir)]
    dirs = [user_zoo_dir()]
    if SHIPPED_ZOO.resolve() != dirs[0].resolve():
        dirs.append(SHIPPED_ZOO)
    return dirs


def _check_kind(kind):
    if kind not in KINDS:
        raise ConfigError(f"model kind '{kind}' is not one of {', '.join(KINDS)}")


def default_dataset_id():
    """The id of the dataset ``load_dataset("default")`` loads (msrl_ext/hopper/medium-replay-v0),
    so "default" data and "default" models always match."""
    return DEFAULT_DATASET_ID


def canonical_name(name):
    """"default" -> :func:`default_dataset_id`; reject empty, absolute or '..' names."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"pretrained model name must be a non-empty string, got {name!r}")
    name = name.strip().strip("/")
    if name == "default":
        return default_dataset_id()
    parts = name.split("/")
    if os.path.isabs(name) or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        raise ConfigError(f"pretrained model name '{name}' must be a relative id such as "
                          f"'{DEFAULT_DATASET_ID}' (no '..', no empty parts)")
    return name


def model_dir(kind, name, zoo_dir):
    """Folder of model ``name`` of ``kind`` inside one zoo folder (it may not exist)."""
    _check_kind(kind)
    return pathlib.Path(zoo_dir) / kind / canonical_name(name)


def _models_in(root, kind):
    base = pathlib.Path(root) / kind
    if not base.is_dir():
        return []
    names = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if PARAMS_FILE in filenames:
            names.append(pathlib.Path(dirpath).relative_to(base).as_posix())
    return sorted(names)


def list_models(kind=None, zoo_dir=None):
    """{kind: {name: folder}} over the searched zoo folders (the first folder wins a name)."""
    kinds = KINDS if kind is None else (kind,)
    out = {}
    for k in kinds:
        _check_kind(k)
        found = {}
        for root in search_dirs(zoo_dir):
            for name in _models_in(root, k):
                found.setdefault(name, pathlib.Path(root) / k / name)
        out[k] = found
    return out


def train_command(kind, name):
    """The shell command that trains model ``name`` of ``kind`` into the user zoo."""
    models = {"iql": "iql", "invdyn": "invdyn"}[kind]
    dataset = "default" if name == default_dataset_id() else name
    return f"bash scripts/pretrain_zoo.sh --datasets {dataset} --models {models}"


def find_model(kind, name, zoo_dir=None):
    """Folder holding model ``name`` of ``kind``; ModelNotFoundError lists the zoo."""
    _check_kind(kind)
    name = canonical_name(name)
    dirs = search_dirs(zoo_dir)
    for root in dirs:
        folder = model_dir(kind, name, root)
        if (folder / PARAMS_FILE).is_file():
            return folder
    held = []
    for root in dirs:
        names = _models_in(root, kind)
        held.append(f"  {root / kind}: {', '.join(names) if names else '(nothing)'}")
    raise ModelNotFoundError(
        f"no pretrained '{kind}' model named '{name}' in the model zoo. Searched:\n"
        + "\n".join(held)
        + f"\nTrain one with:  {train_command(kind, name)}"
        + f"\n(or pass zoo_dir=..., or set ${ZOO_ENV_VAR} to a zoo folder that holds it)")


def _atomic_write_text(path, text):
    tmp = pathlib.Path(path).with_name(f".{pathlib.Path(path).name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_params(folder, kind=None):
    """Read and check ``<folder>/params.json``; CheckpointError names the file and key."""
    path = pathlib.Path(folder) / PARAMS_FILE
    if not path.is_file():
        raise CheckpointError(f"'{path}' does not exist")
    with read_errors_as(CheckpointError, f"'{path}' is not valid JSON"):
        with open(path, encoding="utf-8") as f:
            params = json.load(f)
    if not isinstance(params, dict):
        raise CheckpointError(f"'{path}' holds a JSON {type(params).__name__}, expected an "
                              f"object")
    for key in ("config", "normalizers"):
        if not isinstance(params.get(key), dict):
            raise CheckpointError(f"'{path}' has no '{key}' object")
    for key in ("kind", "model_class", "weights", "weights_sha256"):
        if key in params and not isinstance(params[key], str):
            raise CheckpointError(f"'{path}': '{key}' is {params[key]!r}, expected a string")
    _check_normalizer(params["normalizers"].get("state"), path)
    if kind is not None and params.get("kind", kind) != kind:
        raise CheckpointError(f"'{path}' holds a '{params.get('kind')}' model, not '{kind}'")
    return params


def _check_normalizer(state, path):
    """CheckpointError unless state is {"mean": [...], "std": [...]}: lists of finite numbers
    of one length, std > 0."""
    if not isinstance(state, dict) or "mean" not in state or "std" not in state:
        raise CheckpointError(f"'{path}' has no normalizers.state.mean/std")
    with read_errors_as(CheckpointError, f"'{path}': normalizers.state.mean/std must be "
                                         f"lists of numbers"):
        mean = np.asarray(state["mean"], np.float64)
        std = np.asarray(state["std"], np.float64)
    if (mean.ndim != 1 or mean.shape != std.shape or not np.isfinite(mean).all()
            or not (np.isfinite(std) & (std > 0)).all()):
        raise CheckpointError(f"'{path}': normalizers.state.mean/std must be lists of the same "
                              f"length of finite numbers (std > 0), got shapes {mean.shape} / "
                              f"{std.shape}")


def weights_path(folder, params):
    """The weights file of a zoo model, checked against the SHA-256 in params.json."""
    folder = pathlib.Path(folder)
    name = params.get("weights", WEIGHTS_FILE)
    if pathlib.PurePath(name).name != name:
        raise CheckpointError(f"'{folder / PARAMS_FILE}': 'weights' is {name!r}, expected a "
                              f"file name inside the model folder")
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"zoo model '{folder}' has params.json but no weights file "
                              f"'{path.name}'")
    expected = params.get("weights_sha256")
    with read_errors_as(CheckpointError, f"weights file '{path}' cannot be read"):
        actual = file_sha256(path)
    if expected and actual != expected:
        raise CheckpointError(
            f"weights file '{path}' does not match the SHA-256 recorded in its params.json "
            f"(a partial copy, or weights from another run); re-train or re-copy the model")
    return path


def build_model(klass, folder, params):
    """``klass(**params["config"])`` with the folder's checked weights loaded, in eval mode."""
    from mindspore_rl_ext.core.checkpoint import assign_params, load_params

    try:
        model = klass(**params["config"])
    except Exception as e:  # the class checks its config; a bad one may also fail in MindSpore
        raise CheckpointError(f"'{pathlib.Path(folder) / PARAMS_FILE}': bad config "
                              f"({type(e).__name__}: {e})") from None
    path = weights_path(folder, params)
    assign_params(model, load_params(str(path)), str(path))
    model.set_train(False)
    return model


def write_model(folder, named_params, params):
    """Write weights then params.json (last, so a model counts only once complete)."""
    from mindspore_rl_ext.core.checkpoint import save_params

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    save_params(named_params, str(weights))
    os.chmod(weights, 0o644)  # MindSpore writes checkpoints owner-read-only (0400)
    params = dict(params, weights=WEIGHTS_FILE, weights_sha256=file_sha256(weights),
                  format_version=FORMAT_VERSION)
    _atomic_write_text(folder / PARAMS_FILE, json.dumps(_jsonable(params), indent=2) + "\n")
    return folder


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def gaussian_normalizer(observations):
    """CleanDiffuser's GaussianNormalizer stats: per-dim mean and population std (0 -> 1)."""
    obs = np.asarray(observations, np.float64).reshape(-1, np.shape(observations)[-1])
    mean, std = obs.mean(0), obs.std(0)
    std[std < 1e-8] = 1.0
    return {"mean": mean.astype(np.float32).tolist(), "std": std.astype(np.float32).tolist()}


def normalize_obs(obs, params):
    """(obs - mean) / std with the stats of a zoo model's params (float32 numpy)."""
    state = params["normalizers"]["state"]
    return ((np.asarray(obs, np.float32) - np.asarray(state["mean"], np.float32))
            / np.asarray(state["std"], np.float32))


def unnormalize_obs(obs, params):
    """Inverse of :func:`normalize_obs`."""
    state = params["normalizers"]["state"]
    return (np.asarray(obs, np.float32) * np.asarray(state["std"], np.float32)
            + np.asarray(state["mean"], np.float32))


def plot_v_vs_mc_curves(path, zoo_dir=None) -> list[str]:
    """Plot the held-out V-vs-MC correlation against IQL updates of every IQL model that
    recorded a curve (``pretrain_zoo --metrics-every``), to see where it stops rising.
    Writes the PNG ``path``; returns the names plotted."""
    curves = {}
    for name, folder in list_models("iql", zoo_dir)["iql"].items():
        curve = read_params(folder, "iql").get("metrics", {}).get("v_vs_mc_curve")
        if curve:
            curves[name] = curve
    if not curves:
        raise ConfigError("--plot: no IQL model in " + ", ".join(map(str, search_dirs(zoo_dir)))
                          + " has a V-vs-MC curve (train with pretrain_zoo --metrics-every N)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for index, (name, curve) in enumerate(curves.items()):
        steps = [point["step"] for point in curve]
        color = plt.cm.tab20(index % 20)  # the default cycle repeats after 10 models
        for ax, key in zip(axes, ("pearson_r", "spearman_r")):
            ax.plot(steps, [point[key] for point in curve], marker=".", color=color, label=name)
    for ax, title in zip(axes, ("Pearson r", "Spearman r")):
        ax.set_title(f"V(s) vs MC return, held-out episodes: {title}")
        ax.set_xlabel("IQL update")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return list(curves)


def main(argv=None):
    """``python -m mindspore_rl_ext.pretrained.zoo [--zoo-dir DIR] [--plot PNG]``: list the
    zoo (and plot its IQL models' V-vs-MC curves)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.pretrained.zoo",
                                     description="List the pretrained models in the zoo.")
    parser.add_argument("--zoo-dir", default=None)
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="also plot the IQL models' held-out V-vs-MC curves to PNG")
    args = parser.parse_args(argv)
    if args.plot:
        try:
            names = plot_v_vs_mc_curves(args.plot, args.zoo_dir)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"wrote {args.plot}: V-vs-MC curves of {', '.join(names)}")
    print("searched, in order: " + ", ".join(str(d) for d in search_dirs(args.zoo_dir)))
    print(f"'default' means {default_dataset_id()}")
    for kind, models in list_models(zoo_dir=args.zoo_dir).items():
        print(f"{kind}:")
        for name, folder in models.items():
            try:
                params = read_params(folder, kind)
                metrics = params.get("metrics", {})
                steps = params.get("training", {}).get("steps")
                print(f"  {name}  ({params.get('model_class')}, {steps} steps)  {folder}")
                if metrics:
                    print(f"      metrics: {json.dumps(metrics)[:300]}")
            except CheckpointError as err:
                print(f"  {name}  (unreadable: {err})")
        if not models:
            print("  (none)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
