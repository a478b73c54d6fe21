"""Pretrain the model zoo: IQL value functions and inverse dynamics models per dataset.

    python -m mindspore_rl_ext.utils.pretrain_zoo --datasets default --models iql invdyn
    bash scripts/pretrain_zoo.sh --datasets default msrl_ext/walker2d/medium-v0

Each dataset (``default``, a Minari id, or a D4RL-format ``.hdf5`` file) gets
``<zoo>/iql/<name>/`` and ``<zoo>/invdyn/<name>/`` (params.json + model.ckpt), where
``<zoo>`` is ``--zoo-dir``, else ``$MSRL_EXT_ZOO``, else ``~/.mindspore_rl_ext/zoo`` and
``<name>`` is the dataset's id (``--name`` overrides it). A model already in the zoo is
skipped unless ``--force`` (retrain from scratch) or ``--extend`` (continue its training to
the new ``--iql-steps`` / ``--invdyn-max-steps``). Training checkpoints go to ``--work-dir``
(default ``~/.cache/mindspore_rl_ext/pretrain_work``); re-running the same command after an
interruption resumes from the last one. They are kept after the model is written (about
13 MB for an IQL model at hidden 512), for ``--extend``; delete the folder to reclaim it.

Recipe (CleanDiffuser's, on our data): observations are Gaussian-normalised with the
dataset's mean/std (stored in params.json); raw rewards and tau 0.7, except on the
datasets of IQL's sparse-reward presets (a name holding antmaze or pointmaze): r - 1 and
tau 0.9 there, as ``algorithms.iql.config.DOMAINS``; ``done`` = true terminals only:
time-limit truncations keep their real next observation and are bootstrapped (D4RL's
qlearning_dataset drops them instead).
A seeded ``--holdout-episodes`` fraction of episodes is kept out of training; the
metrics in params.json compare V(s) and Q(s, a) with the discounted Monte-Carlo return
on those episodes, and the inverse dynamics MSE on its 20% validation split and on them.
"""
import argparse
import json
import math
import os
import pathlib
import shutil
import sys
import time

import numpy as np

from mindspore_rl_ext.algorithms.iql.config import DOMAINS as IQL_DOMAINS
from mindspore_rl_ext.core.errors import ConfigError, MsRlExtError
from mindspore_rl_ext.pretrained import zoo as model_zoo

DEFAULT_WORK_DIR = pathlib.Path("~") / ".cache" / "mindspore_rl_ext" / "pretrain_work"
MODELS = ("iql", "invdyn")
FINISHED_FILE = "finished.json"  # in a model's work folder once the model is in the zoo
CURVE_FILE = "v_vs_mc_curve.json"  # IQL's held-out curve so far, kept across resumes


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.utils.pretrain_zoo",
                                description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["default"],
                   help="'default', Minari ids or .hdf5 paths (default: default)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--name", default=None, help="zoo name (only with one dataset; default: "
                   "the dataset id, or the .hdf5 file's stem)")
    p.add_argument("--zoo-dir", default=None, help="zoo folder (default: $MSRL_EXT_ZOO or "
                   "~/.mindspore_rl_ext/zoo)")
    p.add_argument("--work-dir", default=None, help="resumable training checkpoints")
    p.add_argument("--dataset-root", default=None, help="Minari root of the datasets")
    what_to_do = p.add_mutually_exclusive_group()
    what_to_do.add_argument("--force", action="store_true",
                            help="retrain models already in the zoo, from scratch")
    what_to_do.add_argument("--extend", action="store_true",
                            help="continue models already in the zoo from their kept training "
                            "checkpoint in --work-dir, up to the new --iql-steps / "
                            "--invdyn-max-steps (the V-vs-MC curve continues too)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the initial weights, the batches and the held-out split")
    p.add_argument("--holdout-episodes", type=float, default=0.1,
                   help="fraction of episodes kept out of training for the metrics")
    p.add_argument("--hidden-dim", type=int, default=512)
    p.add_argument("--iql-steps", type=int, default=1_000_000,
                   help="IQL updates (CleanDiffuser: 1M; CPU: tens of thousands)")
    p.add_argument("--iql-batch-size", type=int, default=512)
    p.add_argument("--tau", type=float, default=None,
                   help="default 0.9 antmaze/pointmaze, else 0.7")
    p.add_argument("--invdyn-max-steps", type=int, default=1_000_000)
    p.add_argument("--invdyn-batch-size", type=int, default=512)
    p.add_argument("--invdyn-val-every", type=int, default=None,
                   help="updates between validations (default: one epoch)")
    p.add_argument("--patience", type=int, default=3, help="validations without improvement")
    p.add_argument("--max-val-samples", type=int, default=50_000,
                   help="validation transitions used for early stopping (all: 0)")
    p.add_argument("--log-every", type=int, default=1000)
    p.add_argument("--metrics-every", type=int, default=0,
                   help="IQL: V-vs-MC metrics on the held-out episodes every N updates, "
                   "logged and kept as a curve in params.json, to see when V's correlation "
                   "stops rising (0: only at the end)")
    p.add_argument("--save-every", type=int, default=5000)
    p.add_argument("--device", default="CPU", choices=("CPU", "GPU", "Ascend", "Auto"))
    args = p.parse_args(argv)
    if args.name and len(args.datasets) != 1:
        p.error("--name needs exactly one dataset")
    if not 0.0 <= args.holdout_episodes < 1.0:
        p.error("--holdout-episodes must be in [0, 1)")
    if args.metrics_every < 0 or args.metrics_every % args.log_every:
        p.error(f"--metrics-every must be 0 or a multiple of --log-every ({args.log_every}), "
                f"got {args.metrics_every}")
    return args


# ----------------------------------------------------------------------------- data
def load(spec, dataset_root=None):
    """A TransitionDataset for spec (mindspore_rl_ext.data.load_dataset)."""
    from mindspore_rl_ext.data.default_dataset import load_dataset

    return load_dataset(spec, dataset_root=dataset_root)


def zoo_name(spec, dataset, name=None):
    if name:
        return model_zoo.canonical_name(name)
    source = str(getattr(dataset, "source", "") or spec)
    if source.lower().endswith((".hdf5", ".h5")):
        return pathlib.Path(source).stem
    return model_zoo.canonical_name(source)


def sparse_reward_domain(name: str) -> str | None:
    """The IQL domain with the sparse-reward preset (r - 1) that the dataset name holds."""
    lowered = name.lower()
    return next((domain for domain, preset in IQL_DOMAINS.items()
                 if preset["reward_transform"] == "iql_antmaze" and domain in lowered), None)


def episode_split(episode_ends, fraction, seed):
    """Boolean row mask of the held-out episodes (a seeded fraction, at least one episode
    when fraction > 0 and there are 2+ episodes)."""
    n_ep = len(episode_ends)
    starts = np.concatenate(([0], episode_ends[:-1]))
    mask = np.zeros(int(episode_ends[-1]), bool)
    k = min(n_ep - 1, int(round(fraction * n_ep))) if fraction > 0 and n_ep > 1 else 0
    if fraction > 0 and n_ep > 1:
        k = max(k, 1)
    for e in np.random.default_rng([int(seed), 7]).choice(n_ep, k, replace=False):
        mask[starts[e]:episode_ends[e]] = True
    return mask


def discounted_returns(rewards, episode_ends, discount):
    """Discounted return-to-go within each episode (float64)."""
    out = np.zeros(len(rewards), np.float64)
    start = 0
    for end in episode_ends:
        acc = 0.0
        for t in range(end - 1, start - 1, -1):
            acc = rewards[t] + discount * acc
            out[t] = acc
        start = end
    return out


def fit_metrics(pred, target):
    """How well pred tracks target: Pearson/Spearman r, R^2, RMSE, mean bias."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)

    def ranks(x):
        r = np.empty(len(x))
        r[np.argsort(x, kind="stable")] = np.arange(len(x))
        return r

    sst = float(((target - target.mean()) ** 2).sum())
    return {"n": int(len(pred)),
            "pearson_r": float(np.corrcoef(pred, target)[0, 1]),
            "spearman_r": float(np.corrcoef(ranks(pred), ranks(target))[0, 1]),
            "r2": float(1.0 - ((pred - target) ** 2).sum() / sst) if sst > 0 else float("nan"),
            "rmse": float(np.sqrt(((pred - target) ** 2).mean())),
            "bias": float((pred - target).mean()),
            "target_mean": float(target.mean()), "target_std": float(target.std())}


def iql_metrics(iql, obs, act, rewards, terminals, episode_ends, discount):
    """V(s) and min-Q(s, a) against discounted MC returns on whole episodes.

    A state counts when its episode terminated, or when at least H steps remain before a
    truncation, with discount**H < 0.01 (the unobserved tail is worth < 1% of a reward
    stream), so truncated tails do not bias the comparison."""
    mc = discounted_returns(rewards, episode_ends, discount)
    horizon = math.ceil(math.log(0.01) / math.log(discount)) if discount < 1 else 10 ** 9
    keep = np.zeros(len(rewards), bool)
    start = 0
    for end in episode_ends:
        if terminals[end - 1]:
            keep[start:end] = True
        else:
            keep[start:max(start, end - horizon)] = True
        start = end
    v = np.concatenate([iql.forward_v(obs[s:s + 8192])[:, 0] for s in range(0, len(obs), 8192)])
    q = np.concatenate([iql.forward_q(obs[s:s + 8192], act[s:s + 8192])[:, 0]
                        for s in range(0, len(obs), 8192)])
    return {"holdout_episodes": int(len(episode_ends)), "mc_horizon_cut": int(horizon),
            "v_vs_mc": fit_metrics(v[keep], mc[keep]) if keep.any() else None,
            "q_vs_mc": fit_metrics(q[keep], mc[keep]) if keep.any() else None}


def subset_episodes(dataset_arrays, mask, episode_ends):
    """Rows where mask is True (whole episodes) and their episode_ends."""
    idx = np.flatnonzero(mask)
    ends = []
    start = 0
    for end in episode_ends:
        if mask[start]:
            ends.append(end - start)
        start = end
    return ({k: v[idx] for k, v in dataset_arrays.items()},
            np.cumsum(np.asarray(ends, np.int64)) if ends else np.zeros(0, np.int64))


# ----------------------------------------------------------------------------- one dataset
def pretrain_dataset(spec, args, log=None):
    import mindspore as ms

    from mindspore_rl_ext.invdynamic import FancyMlpInvDynamic
    from mindspore_rl_ext.utils.valuefuncs import Iql

    from mindspore_rl_ext.pretrained.common import default_log

    log = log or default_log
    zoo = model_zoo.user_zoo_dir(args.zoo_dir)
    work_root = pathlib.Path(args.work_dir).expanduser() if args.work_dir else \
        DEFAULT_WORK_DIR.expanduser()
    t_load = time.time()
    dataset = load(spec, args.dataset_root)
    name = zoo_name(spec, dataset, args.name)
    in_zoo = {m: (model_zoo.model_dir(m, name, zoo) / model_zoo.PARAMS_FILE).is_file()
              for m in args.models}
    todo = [m for m in args.models if args.force or args.extend or not in_zoo[m]]
    if args.extend:
        for m in todo:
            if in_zoo[m] and _read_finished(work_root / m / name) is None:
                raise ConfigError(
                    f"--extend: {model_zoo.model_dir(m, name, zoo)} has no kept training "
                    f"checkpoint in {work_root / m / name} (the run was on another machine or "
                    f"--work-dir, or predates --extend); retrain it with --force")
    for m in args.models:
        if m not in todo:
            log(f"[{name}] {m}: already in {model_zoo.model_dir(m, name, zoo)} (--force "
                "retrains it, --extend continues it)")
    if not todo:
        return {}
    n = len(dataset)
    log(f"[{name}] {n} transitions, {len(dataset.episode_ends)} episodes, obs_dim "
        f"{dataset.obs_dim}, act_dim {dataset.act_dim} (loaded in {time.time() - t_load:.0f} s)")
    normalizer = model_zoo.gaussian_normalizer(dataset.observations)
    mean, std = np.asarray(normalizer["mean"]), np.asarray(normalizer["std"])
    sparse = sparse_reward_domain(name)
    rewards = dataset.rewards - 1.0 if sparse else dataset.rewards
    arrays = {"obs": ((dataset.observations - mean) / std).astype(np.float32),
              "next_obs": ((dataset.next_observations - mean) / std).astype(np.float32),
              "act": dataset.actions.astype(np.float32),
              "rew": rewards.astype(np.float32),
              "done": dataset.terminals.astype(np.float32)}
    holdout = episode_split(dataset.episode_ends, args.holdout_episodes, args.seed)
    train_arrays = {k: v[~holdout] for k, v in arrays.items()}
    held, held_ends = subset_episodes(arrays, holdout, dataset.episode_ends)
    data_info = {"dataset": name, "spec": str(spec), "env_id": dataset.env_id,
                 "transitions": n, "episodes": int(len(dataset.episode_ends)),
                 "holdout_episodes": int(len(held_ends)),
                 "train_transitions": int(len(train_arrays["obs"])),
                 "reward_transform": "r - 1" if sparse else "none",
                 "done": "terminals only (timeouts bootstrapped)"}
    threads = os.environ.get("MSRL_EXT_CPU_THREADS") or str(os.cpu_count())
    results = {}
    for kind in todo:
        work = work_root / kind / name
        finished = _read_finished(work)
        if finished and args.force:
            shutil.rmtree(work)  # a finished run: retrain from scratch
            finished = None
        t0 = time.time()
        ms.set_seed(args.seed)  # the initial weights, so that a command reproduces its model
        if kind == "iql":
            tau = args.tau if args.tau is not None else (
                IQL_DOMAINS[sparse or "mujoco"]["expectile"])
            model = Iql(dataset.obs_dim, dataset.act_dim, tau=tau, hidden_dim=args.hidden_dim)
            log(f"[{name}] iql: {args.iql_steps} steps, batch {args.iql_batch_size}, tau {tau}, "
                f"checkpoints in {work}")
            def held_out_metrics():
                return iql_metrics(model, held["obs"], held["act"], held["rew"], held["done"],
                                   held_ends, model.discount)

            curve_path = work / CURVE_FILE
            curve = json.loads(curve_path.read_text()) if curve_path.is_file() else []

            def record_curve(step, stats):
                if args.metrics_every and len(held_ends) and step % args.metrics_every == 0:
                    v_vs_mc = held_out_metrics()["v_vs_mc"]
                    curve[:] = [point for point in curve if point["step"] < step]
                    curve.append({"step": step, **v_vs_mc})
                    work.mkdir(parents=True, exist_ok=True)
                    curve_path.write_text(json.dumps(curve))
                    log(f"[{name}] iql: step {step}: V vs MC on held-out episodes "
                        f"{_short({'v_vs_mc': v_vs_mc})['v_vs_mc']}")

            hist = model.fit(train_arrays, steps=args.iql_steps, batch_size=args.iql_batch_size,
                             seed=args.seed, log_every=args.log_every, ckpt_dir=str(work),
                             save_every=args.save_every, log=log, callback=record_curve)
            metrics = held_out_metrics() if len(held_ends) else {}
            if curve:
                metrics["v_vs_mc_curve"] = curve
            last = hist["history"][-1] if hist["history"] else {}
            metrics["final_train"] = {k: last.get(k) for k in ("loss_q", "loss_v", "pred_v")}
            training = {**data_info, "steps": hist["steps"], "batch_size": args.iql_batch_size,
                        "seed": args.seed, "optimizer": "Adam", "lr": model.lr}
        else:
            model = FancyMlpInvDynamic(dataset.obs_dim, dataset.act_dim,
                                       hidden_dim=args.hidden_dim)
            log(f"[{name}] invdyn: up to {args.invdyn_max_steps} steps, batch "
                f"{args.invdyn_batch_size}, 20% validation, patience {args.patience}, "
                f"checkpoints in {work}")
            hist = model.fit(train_arrays, batch_size=args.invdyn_batch_size,
                             max_steps=args.invdyn_max_steps, val_every=args.invdyn_val_every,
                             patience=args.patience, seed=args.seed, ckpt_dir=str(work),
                             log_every=args.log_every,
                             max_val_samples=args.max_val_samples or None, log=log)
            from mindspore_rl_ext.invdynamic import split_transitions

            _, val = split_transitions(
                {k: train_arrays[k] for k in ("obs", "act", "next_obs")}, 0.2, args.seed)
            metrics = {"val_mse": model.validation_loss(val),
                       "val_mse_early_stopping_subset": hist["best_val_loss"],
                       "best_step": hist["best_step"], "stopped_early": hist["stopped_early"]}
            if len(held_ends):
                metrics["holdout_episodes_mse"] = model.validation_loss(held)
            training = {**data_info, "steps": hist["steps"], "batch_size": args.invdyn_batch_size,
                        "seed": args.seed, "optimizer": "Adam", "lr": model.lr,
                        "val_fraction": 0.2, "patience": args.patience,
                        "val_every": args.invdyn_val_every or "epoch",
                        "max_val_samples": args.max_val_samples or None,
                        "kept": "best validation checkpoint"}
        wall_time = round(time.time() - t0 + (finished or {}).get("wall_time_s", 0.0), 1)
        training.update(wall_time_s=wall_time, cpu_threads=threads,
                        command="python -m mindspore_rl_ext.utils.pretrain_zoo "
                        + " ".join(sys.argv[1:]))
        if finished:
            training["extended_from_step"] = finished["steps"]
        folder = model.save_pretrained(name, zoo_dir=zoo, normalizer=normalizer,
                                       training=training, metrics=metrics)
        log(f"[{name}] {kind}: wrote {folder} in {training['wall_time_s']:.0f} s; metrics "
            f"{_short(metrics)}")
        (work / FINISHED_FILE).write_text(json.dumps(
            {"steps": training["steps"], "wall_time_s": wall_time, "zoo_folder": str(folder)}))
        results[kind] = {"folder": str(folder), "metrics": metrics}
    return results


def _read_finished(work):
    """The record a finished run left in its work folder ({steps, wall_time_s}), or None."""
    path = work / FINISHED_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _short(metrics):
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out[k] = {kk: (round(vv, 4) if isinstance(vv, float) else vv) for kk, vv in v.items()
                      if kk in ("pearson_r", "spearman_r", "r2", "rmse", "bias", "loss_q",
                                "loss_v")}
        elif isinstance(v, list):
            out[k] = f"{len(v)} points"
        else:
            out[k] = round(v, 5) if isinstance(v, float) else v
    return out


def main(argv=None):
    args = parse_args(argv)
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore(args.device)
    try:
        for spec in args.datasets:
            pretrain_dataset(spec, args)
    except MsRlExtError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
