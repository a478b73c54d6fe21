"""d3rlpy 2.8.1's IQL on an exported dataset (``export.py``), as one sweep run. Run it with
the benchmark venv's python::

    python d3rlpy_iql.py --data RUN/d3rlpy_iql_data.npz --episodes 100 \\
        --log-file RUN/d3rlpy_iql_train_log.txt --ckpt-dir RUN/ckpt [--seed 0] [...]

Standalone: it imports NumPy, gymnasium, torch and d3rlpy, never ``mindspore_rl_ext``
(which needs MindSpore); the sweep starts it through ``d3rlpy_iql_launch.py``.

Hyperparameters default to d3rlpy's reproduction of the IQL paper's locomotion setting
(d3rlpy ``reproductions/offline/iql.py``): Adam 3e-4 for the actor and the critics (the
value function shares the critics' optimiser), the actor's learning rate cosine-annealed
over the whole budget (``CosineAnnealingLRFactory(T_max=total steps)``), batch 256, gamma
0.99, tau 0.005, two critics, expectile 0.7, inverse temperature 3, advantage weights
clipped at 100, rewards scaled by ``ReturnBasedRewardScaler(multiplier=1000)`` (1000 /
(max - min episode return), as the paper), no observation scaler, 2x256 ReLU encoders.

Training is d3rlpy's ``fitter`` loop (scalers fitted on the dataset, then
``update(sample_transition_batch(batch_size))`` per step), cut into episodes of
--steps-per-episode updates like our trainers. Every --eval-per-episode episodes,
--num-eval-episodes evaluation episodes run with the greedy action (``predict``),
episode i from ``reset(seed=seed + i)``, actions clipped to the action space: our
evaluation protocol (``envs/gym_environment.py``). Beside the log file it writes
``metrics.csv`` with ``core/metrics.py``'s columns (episode, gradient_step, d3rlpy's
losses, eval_return, normalized_score, wall_time_s) and the log in our trainers' format.
Every --save-per-episode episodes, at the end, and after the current episode on
SIGTERM/SIGINT, the model, optimiser, learning-rate schedule and RNG states are saved to
``CKPT/episode_<N>.pt`` (atomically; the newest two are kept); a rerun resumes from the
newest, and continues exactly as an uninterrupted run.

d3rlpy reads the data as ``MDPDataset(observations, actions, rewards, terminals,
timeouts)``, as it loads D4RL: s' is the next row, and the last row of an episode cut by
a timeout is not a transition. Exit code 0, 1 on an error (an ``Error:`` line), 128 +
signal when interrupted.
"""
import argparse
import contextlib
import csv
import glob
import io
import logging
import math
import os
import random
import signal
import sys
import time
import traceback

import numpy as np

FIXED_HEAD = ("episode", "gradient_step")  # core/metrics.py's columns around the losses
FIXED_TAIL = ("eval_return", "normalized_score", "wall_time_s")
SEPARATOR = "-----------------------------------------"
KEEP_CHECKPOINTS = 2
SETUP_CMD = "bash benchmarks/setup_bench_env.sh"
FINGERPRINT = ("seed", "episodes", "steps_per_episode", "batch_size", "hidden_sizes",
               "gamma", "actor_lr", "critic_lr", "tau", "expectile", "temperature",
               "max_weight", "actor_lr_schedule")


class RunError(Exception):
    """A problem with the run's inputs: reported as one ``Error:`` line."""


class Interrupted(Exception):
    def __init__(self, signum, episode):
        super().__init__(f"stopped by {signal.Signals(signum).name} after episode {episode}")
        self.signum = signum


def _positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="d3rlpy IQL on an exported dataset, in our log "
                                            "and metrics formats (run with the bench venv).")
    p.add_argument("--data", required=True, help=".npz written by sweep/peers/export.py")
    p.add_argument("--episodes", type=_positive(int), required=True,
                   help="training episodes of --steps-per-episode updates each")
    p.add_argument("--log-file", required=True, help="train log; metrics.csv goes beside it")
    p.add_argument("--ckpt-dir", required=True, help="checkpoint folder (resumed from)")
    p.add_argument("--seed", type=_non_negative_int, default=42)
    p.add_argument("--steps-per-episode", type=_positive(int), default=1000)
    p.add_argument("--eval-per-episode", type=_non_negative_int, default=5)
    p.add_argument("--save-per-episode", type=_non_negative_int, default=5)
    p.add_argument("--num-eval-episodes", type=_positive(int), default=10)
    p.add_argument("--batch-size", type=_positive(int), default=256)
    p.add_argument("--hidden-sizes", type=_positive(int), nargs="+", default=[256, 256])
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--actor-lr", type=_positive(float), default=3e-4)
    p.add_argument("--critic-lr", type=_positive(float), default=3e-4)
    p.add_argument("--tau", type=_positive(float), default=0.005)
    p.add_argument("--expectile", type=float, default=0.7)
    p.add_argument("--temperature", type=float, default=3.0, help="d3rlpy's weight_temp (beta)")
    p.add_argument("--max-weight", type=_positive(float), default=100.0)
    p.add_argument("--actor-lr-schedule", choices=("cosine", "constant"), default="cosine")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (cuda when available)")
    p.add_argument("--threads", type=_positive(int),
                   default=int(os.environ.get("MSRL_EXT_CPU_THREADS") or 0) or None,
                   help="torch CPU threads (default: $MSRL_EXT_CPU_THREADS, else torch's)")
    args = p.parse_args(argv)
    if not 0.0 < args.expectile < 1.0:
        p.error(f"--expectile must be in (0, 1), got {args.expectile}")
    if not 0.0 <= args.gamma <= 1.0 or args.temperature < 0.0:
        p.error("--gamma must be in [0, 1] and --temperature >= 0")
    return args


def load_export(path: str) -> dict:
    """The exported arrays (float32; episode_ends int64), env_id, source and the
    reference scores (None when absent)."""
    if not os.path.isfile(path):
        raise RunError(f"dataset file '{path}' does not exist")
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    out = {k: data[k] for k in ("observations", "actions", "rewards", "next_observations",
                                "terminals", "timeouts", "episode_ends")}
    out["env_id"], out["source"] = str(data["env_id"]), str(data["source"])
    for key in ("ref_min_score", "ref_max_score"):
        value = float(data[key])
        out[key] = None if math.isnan(value) else value
    return out


class RunLog:
    """Lines appended to the log file (flushed per line) and echoed to stdout."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._file = open(path, "a", encoding="utf-8")

    def info(self, line, echo=True):
        self._file.write(line + "\n")
        self._file.flush()
        if echo:
            print(line, flush=True)

    def close(self):
        self._file.close()


class MetricsFile:
    """``metrics.csv`` as core/metrics.py writes it: one row per episode; on resume from
    episode k, rows after k are dropped and wall time continues from row k's."""

    def __init__(self, path):
        self.path = path
        self.columns = None
        self.offset = 0.0
        self.start = None

    def begin(self, resumed_episode):
        kept = []
        if resumed_episode > 0 and os.path.isfile(self.path):
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                kept = [r for r in reader if int(r["episode"]) <= resumed_episode]
                if kept:
                    self.columns = reader.fieldnames
                    self.offset = float(kept[-1]["wall_time_s"])
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            if kept:
                writer = csv.DictWriter(f, self.columns)
                writer.writeheader()
                writer.writerows(kept)
        os.replace(tmp, self.path)
        self.start = time.perf_counter()

    def append(self, episode, gradient_step, losses, eval_return=None, score=None):
        row = {"episode": episode, "gradient_step": gradient_step, **losses,
               "eval_return": eval_return, "normalized_score": score,
               "wall_time_s": round(self.offset + time.perf_counter() - self.start, 3)}
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            if self.columns is None:
                self.columns = [*FIXED_HEAD, *losses, *FIXED_TAIL]
                csv.DictWriter(f, self.columns).writeheader()
            csv.DictWriter(f, self.columns).writerow(
                {k: ("" if v is None else v) for k, v in row.items() if k in self.columns})


def normalized_score(mean_return, ref_min, ref_max):
    """D4RL's 100 * (R - min) / (max - min); None without reference scores."""
    if ref_min is None or ref_max is None:
        return None
    return 100.0 * (mean_return - ref_min) / (ref_max - ref_min)


def make_env(env_id):
    import gymnasium as gym

    try:
        return gym.make(env_id)
    except Exception as e:  # unknown id, MuJoCo missing from the venv...
        raise RunError(f"environment '{env_id}' cannot be made in the bench venv "
                       f"({type(e).__name__}: {e}); (re)create the venv with `{SETUP_CMD}`, "
                       "which installs gymnasium[mujoco]") from None


def evaluate(policy, env_id, num_episodes, seed):
    """Returns of ``num_episodes`` episodes run side by side with the batched ``policy``,
    episode i from ``reset(seed=seed + i)``; an ended episode is no longer stepped."""
    envs = [make_env(env_id) for _ in range(num_episodes)]
    low, high = envs[0].action_space.low, envs[0].action_space.high
    obs = np.stack([np.asarray(env.reset(seed=seed + i)[0], np.float32)
                    for i, env in enumerate(envs)])
    returns = np.zeros(num_episodes)
    active = np.ones(num_episodes, bool)
    while active.any():
        act = np.clip(policy(obs), low, high)
        for i in np.flatnonzero(active):
            next_obs, reward, term, trunc, _ = envs[i].step(act[i])
            obs[i] = next_obs
            returns[i] += float(reward)
            active[i] = not (term or trunc)
    for env in envs:
        env.close()
    return returns


def _device(name):
    import torch

    if name == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu:0"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RunError(f"--device {name}: this torch build sees no CUDA device")
    return name if ":" in name else f"{name}:0"


def import_d3rlpy():
    """d3rlpy, quiet: without the version notice of gym (which it imports) and with its
    structlog messages from warnings up."""
    with contextlib.redirect_stderr(io.StringIO()):
        import d3rlpy
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return d3rlpy


def build(args, data):
    """d3rlpy's dataset and IQL, scalers fitted and networks built (seeded first)."""
    import d3rlpy
    from d3rlpy.algos.utility import build_scalers_with_transition_picker

    d3rlpy.seed(args.seed)
    dataset = d3rlpy.dataset.MDPDataset(
        observations=data["observations"], actions=data["actions"], rewards=data["rewards"],
        terminals=data["terminals"], timeouts=data["timeouts"])
    encoder = d3rlpy.models.VectorEncoderFactory(hidden_units=list(args.hidden_sizes),
                                                 activation="relu")
    total_steps = args.episodes * args.steps_per_episode
    schedule = (d3rlpy.optimizers.CosineAnnealingLRFactory(T_max=total_steps)
                if args.actor_lr_schedule == "cosine" else None)
    algo = d3rlpy.algos.IQLConfig(
        actor_learning_rate=args.actor_lr, critic_learning_rate=args.critic_lr,
        actor_optim_factory=d3rlpy.optimizers.AdamFactory(lr_scheduler_factory=schedule),
        actor_encoder_factory=encoder, critic_encoder_factory=encoder,
        value_encoder_factory=encoder, batch_size=args.batch_size, gamma=args.gamma,
        tau=args.tau, n_critics=2, expectile=args.expectile, weight_temp=args.temperature,
        max_weight=args.max_weight,
        reward_scaler=d3rlpy.preprocessing.ReturnBasedRewardScaler(multiplier=1000.0),
    ).create(device=_device(args.device))
    build_scalers_with_transition_picker(algo, dataset)
    algo.build_with_dataset(dataset)
    return dataset, algo


def _fingerprint(args):
    return {k: (list(v) if isinstance(v, (list, tuple)) else v)
            for k, v in vars(args).items() if k in FINGERPRINT}


def checkpoint_files(ckpt_dir):
    """{episode: path} of the complete checkpoints in ``ckpt_dir``."""
    found = {}
    for path in glob.glob(os.path.join(ckpt_dir, "episode_*.pt")):
        stem = os.path.basename(path)[len("episode_"):-len(".pt")]
        if stem.isdigit():
            found[int(stem)] = path
    return dict(sorted(found.items()))


def save_checkpoint(algo, args, episode):
    """Model, optimisers (with the schedule), grad step and RNG states, written atomically;
    older files beyond the newest KEEP_CHECKPOINTS are removed."""
    import torch

    model = io.BytesIO()
    algo.impl.save_model(model)
    state = {"episode": episode, "grad_step": algo.grad_step, "fingerprint": _fingerprint(args),
             "model": model.getvalue(), "rng": {"numpy": np.random.get_state(),
                                                "torch": torch.get_rng_state(),
                                                "python": random.getstate()}}
    os.makedirs(args.ckpt_dir, exist_ok=True)
    path = os.path.join(args.ckpt_dir, f"episode_{episode}.pt")
    tmp = f"{path}.{os.getpid()}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in list(checkpoint_files(args.ckpt_dir).values())[:-KEEP_CHECKPOINTS]:
        os.remove(old)


def restore(algo, args, log):
    """Load the newest readable checkpoint; the episode resumed from (0 if none)."""
    import torch

    for episode, path in reversed(checkpoint_files(args.ckpt_dir).items()):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
            algo.impl.load_model(io.BytesIO(state["model"]))
        except Exception as e:  # a truncated or damaged file: fall back to an older one
            log.info(f"Checkpoint at episode {episode} skipped: {type(e).__name__}: {e}")
            continue
        diffs = [f"{k}: checkpoint {state['fingerprint'].get(k)!r} vs now {v!r}"
                 for k, v in _fingerprint(args).items() if state["fingerprint"].get(k) != v]
        if diffs:
            raise RunError(f"cannot resume from '{path}': the run's settings differ "
                           f"({'; '.join(diffs)}); use a fresh --ckpt-dir")
        algo.set_grad_step(state["grad_step"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        random.setstate(state["rng"]["python"])
        log.info(f"Resumed from checkpoint at episode {episode} in {args.ckpt_dir}")
        return episode
    return 0


def next_row_mismatches(data) -> int:
    """Transitions whose next_observations is not the next row's observation (inside an
    episode): d3rlpy trains on the next row there."""
    inside = np.ones(len(data["rewards"]) - 1, bool)
    inside[data["episode_ends"][:-1] - 1] = False
    same = (data["next_observations"][:-1] == data["observations"][1:]).all(axis=1)
    return int((inside & ~same).sum())


def train_episode(algo, dataset, args) -> tuple[dict, float]:
    """--steps-per-episode updates of d3rlpy's fit loop: the mean of each loss, and the
    milliseconds per update."""
    start = time.perf_counter()
    sums = {}
    for _ in range(args.steps_per_episode):
        batch = dataset.sample_transition_batch(args.batch_size)
        for name, value in algo.update(batch).items():
            sums[name] = sums.get(name, 0.0) + float(value)
    per_step_ms = (time.perf_counter() - start) * 1000.0 / args.steps_per_episode
    return {k: v / args.steps_per_episode for k, v in sums.items()}, per_step_ms


def train(args, log):
    d3rlpy = import_d3rlpy()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_export(args.data)
    env = make_env(data["env_id"])
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    env.close()
    if obs_shape != data["observations"].shape[1:] or act_shape != data["actions"].shape[1:]:
        raise RunError(f"dataset '{data['source']}' has observations "
                       f"{data['observations'].shape[1:]} and actions {data['actions'].shape[1:]}, "
                       f"but env {data['env_id']} expects {obs_shape} and {act_shape}")
    dataset, algo = build(args, data)
    log.info(f"d3rlpy {d3rlpy.__version__} IQL (torch {torch.__version__}) training on "
             f"{algo.impl.device}: dataset '{data['source']}', env {data['env_id']}, "
             f"{dataset.transition_count} transitions in {len(dataset.episodes)} episodes, "
             f"{args.episodes} episodes x {args.steps_per_episode} steps, checkpoints in "
             f"{args.ckpt_dir}")
    mismatches = next_row_mismatches(data)
    if mismatches:
        log.info(f"note: {mismatches} transitions have a next_observation other than the next "
                 "row's observation; d3rlpy trains on the next row")
    metrics = MetricsFile(os.path.join(os.path.dirname(os.path.abspath(args.log_file)),
                                       "metrics.csv"))
    episode = restore(algo, args, log)
    metrics.begin(episode)
    stop = {}
    previous = {s: signal.signal(s, lambda signum, _: stop.setdefault("signum", signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while episode < args.episodes:
            losses, per_step_ms = train_episode(algo, dataset, args)
            episode += 1
            for name, value in losses.items():
                if not math.isfinite(value):
                    raise RunError(f"{name} is {value} at episode {episode}; training stopped, "
                                   "the last good checkpoint is kept")
            parts = "".join(f"{k} is {v:.4g}, " for k, v in losses.items())
            log.info(f"Episode {episode}: {parts}per_step_time {per_step_ms:.3f} ms,")
            mean_return = score = None
            if args.eval_per_episode and episode % args.eval_per_episode == 0:
                mean_return = float(np.mean(evaluate(algo.predict, data["env_id"],
                                                     args.num_eval_episodes, args.seed)))
                score = normalized_score(mean_return, data["ref_min_score"], data["ref_max_score"])
                score_text = f", normalized score is {score:.2f}" if score is not None else ""
                log.info(SEPARATOR)
                log.info(f"Evaluate for episode {episode} total rewards is {mean_return:.3f}"
                         f"{score_text}")
                log.info(SEPARATOR)
            metrics.append(episode, episode * args.steps_per_episode, losses, mean_return, score)
            last = episode == args.episodes
            if stop or last or (args.save_per_episode and episode % args.save_per_episode == 0):
                save_checkpoint(algo, args, episode)
            if stop and not last:
                log.info(f"Received {signal.Signals(stop['signum']).name}: checkpoint saved at "
                         f"episode {episode}")
                raise Interrupted(stop["signum"], episode)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("train end")


def main(argv=None) -> int:
    args = parse_args(argv)
    log = RunLog(args.log_file)
    code, message = 0, None
    try:
        train(args, log)
    except Interrupted as e:
        code, message = 128 + e.signum, f"Training interrupted: {e}"
    except RunError as e:
        code, message = 1, f"Error: {e}"
    except ImportError as e:
        code, message = 1, f"Error: {e}; (re)create the bench venv with `{SETUP_CMD}`"
    except Exception:  # an unexpected failure: full traceback for the bug report
        code, message = 1, "Error: unexpected failure\n" + traceback.format_exc()
    if message:
        log.info(message, echo=False)
        print(message, file=sys.stderr)
    log.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
