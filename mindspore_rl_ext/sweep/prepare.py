"""``python -m mindspore_rl_ext.sweep.prepare SWEEP.yaml [SWEEP.yaml ...] [--steps N]
[--seed S] [--dataset-root DIR]``: generate the datasets the sweep files name that this
project generates (``msrl_ext/<env>/<level>-v0``, :mod:`mindspore_rl_ext.data.generate`)
and that are not on disk yet, so that the grids are the one list of a study's datasets.

Every sweep file is checked (:func:`~mindspore_rl_ext.sweep.grid.load_sweep`) before
anything is generated; a missing ``medium-replay`` level, which only an imported SAC
replay makes, is an error then too. Other datasets (D4RL files, other Minari ids,
``default``) are left to the sweep's own check. A grid entry's ``dataset_root`` wins over
``--dataset-root``. Exit code 0 when every generated dataset is there, 1 on bad input.
"""
import argparse
import sys
from dataclasses import dataclass

from mindspore_rl_ext.core.errors import ConfigError, DatasetError
from mindspore_rl_ext.data import minari_io
from mindspore_rl_ext.data.generate import generate_dataset, generator_args_of
from mindspore_rl_ext.sweep.grid import load_sweep


@dataclass(frozen=True)
class Generated:
    """A dataset of a sweep that the generator makes."""

    dataset_id: str
    env: str
    level: str
    dataset_root: str  # None: $MINARI_DATASETS_PATH or ~/.minari/datasets

    def exists(self) -> bool:
        return (minari_io.resolve_root(self.dataset_root) / self.dataset_id).is_dir()


def generated_datasets(sweep_paths: list[str], dataset_root: str = None) -> list[Generated]:
    """The generator's datasets the sweep files name, each once, in grid order."""
    found = {}
    for path in sweep_paths:
        sweep, _ = load_sweep(path, check_datasets=False)
        for dataset in sweep.datasets:
            params = dataset.params
            args = generator_args_of(params["dataset"])
            if args is not None:
                root = params.get("dataset_root", dataset_root)
                found.setdefault((params["dataset"], root),
                                 Generated(params["dataset"], *args, root))
    return list(found.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.sweep.prepare",
                                description="Generate the msrl_ext datasets sweep files name.")
    p.add_argument("sweeps", nargs="+", metavar="SWEEP.yaml")
    p.add_argument("--steps", type=int, default=1_000_000, help="steps per behaviour policy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset-root", default=None,
                   help="Minari root (default: $MINARI_DATASETS_PATH or ~/.minari/datasets)")
    args = p.parse_args(argv)
    try:
        datasets = generated_datasets(args.sweeps, args.dataset_root)
        missing = [d for d in datasets if not d.exists()]
        for d in missing:
            if d.level == "medium-replay":
                raise DatasetError(
                    f"'{d.dataset_id}' is not in {minari_io.resolve_root(d.dataset_root)} and "
                    "only its SAC run's replay makes it: python -m "
                    f"mindspore_rl_ext.data.generate --env {d.env} --level medium-replay "
                    "--from-transitions FILE (the SAC trainer's --replay-dump)")
        for d in datasets:
            if d not in missing:
                print(f"{d.dataset_id}: already in {minari_io.resolve_root(d.dataset_root)}",
                      file=sys.stderr)
        for d in missing:
            path = generate_dataset(d.env, d.level, args.steps, args.seed, d.dataset_root)
            print(f"{d.dataset_id}: generated ({args.steps} steps per policy, seed "
                  f"{args.seed}) at {path}", file=sys.stderr)
    except (ConfigError, DatasetError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
