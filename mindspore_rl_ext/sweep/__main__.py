"""``python -m mindspore_rl_ext.sweep SWEEP.yaml [--out OUT] [--address auto|HOST:PORT]
[--tensorboard] [--num-cpus N]``: run a sweep's grid on Ray (see the package docstring).

Exit code 0 when every run is done, 1 when a run failed or the input is bad (nothing
starts then), 130 on Ctrl-C (started runs save a checkpoint; rerun to resume).
"""
import argparse
import os
import sys

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.sweep.grid import load_sweep
from mindspore_rl_ext.sweep.records import (DATASETS_FILE, RUN_FILE, SWEEP_FILE, grid_diff,
                                            read_json, settings_diff, write_json)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.sweep",
                                description="Run seeds x datasets x algorithms on Ray.")
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("--out", default=None, help="results folder (default: sweeps/<sweep file name>)")
    p.add_argument("--address", default=None,
                   help="join a running Ray cluster: 'auto' or HOST:PORT (default: a local Ray)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files (needs the tensorboard extra)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray instance (default: all); not with --address")
    args = p.parse_args(argv)
    if args.num_cpus is not None and (args.num_cpus < 1 or args.address):
        p.error("--num-cpus must be >= 1 and applies to a local Ray only (not with --address)")
    return args


def check_out(out: str, sweep) -> tuple[list, list[str]]:
    """The runs still to do, and notes on how the grid changed since the last start in
    OUT; ConfigError listing every run whose settings changed."""
    todo, conflicts = [], []
    for run in sweep.runs:
        record = read_json(os.path.join(run.folder(out), RUN_FILE))
        if record.get("settings") is not None:
            diff = settings_diff(record["settings"], run.settings())
            if diff:
                conflicts.append(f"{run.key}: {'; '.join(diff)}")
                continue
        if record.get("state") != "done":
            todo.append(run)
    if conflicts:
        raise ConfigError(f"OUT '{out}' holds runs made with other settings than "
                          f"'{sweep.path}':\n  " + "\n  ".join(conflicts)
                          + "\nuse another --out, or remove those run folders")
    last_grid = read_json(os.path.join(out, SWEEP_FILE))
    return todo, grid_diff(last_grid, sweep.grid()) if last_grid else []


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or os.path.join("sweeps", os.path.splitext(os.path.basename(args.sweep))[0])
    try:
        sweep, averages = load_sweep(args.sweep)
        todo, notes = check_out(out, sweep)
        if args.tensorboard:
            import tensorboardX  # noqa: F401
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except ImportError:
        print("Error: --tensorboard needs tensorboardX: pip install 'mindspore_rl_ext[tensorboard]'",
              file=sys.stderr)
        return 1
    for note in notes:
        print(f"grid changed since the last start in {out}: {note}", file=sys.stderr)
    write_json(os.path.join(out, SWEEP_FILE), dict(sweep.grid(), sweep_file=os.path.abspath(args.sweep)))
    write_json(os.path.join(out, DATASETS_FILE),
               dict(read_json(os.path.join(out, DATASETS_FILE)), **averages))

    from mindspore_rl_ext.sweep.runner import Progress, connect, run_all

    progress = Progress(total=len(sweep.runs), skipped=len(sweep.runs) - len(todo))
    print(f"sweep '{args.sweep}': {len(sweep.runs)} runs into {out}, "
          f"{progress.skipped} already done", file=sys.stderr)
    if todo:
        import ray

        try:
            connect(args.address, args.num_cpus)
        except ConfigError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
        try:
            run_all(todo, out, sweep, args.tensorboard, progress)
        except KeyboardInterrupt:
            print("\nsweep interrupted: started runs save a checkpoint; rerun to resume",
                  file=sys.stderr)
            return 130
        finally:
            ray.shutdown()
    print("\n" + progress.summary(), file=sys.stderr)
    return 1 if progress.failed else 0


if __name__ == "__main__":
    sys.exit(main())
