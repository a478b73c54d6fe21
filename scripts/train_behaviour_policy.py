"""Train an online SAC behaviour policy until it reaches the "medium" level, and export it.

    MSRL_EXT_CPU_THREADS=1 nice -n 5 python scripts/train_behaviour_policy.py --env hopper \\
        --max-steps 300000 --seed 0 --work-dir runs/sac_hopper \\
        --replay-dump /data/hopper_medium_replay.npz > runs/sac_hopper.log 2>&1 &

Writes <out>/<env>_medium.npz (default out: the package's data/behaviour_policies) and,
with --expert-return, <env>_expert.npz. Re-running with the same --work-dir resumes from
its last checkpoint (every --ckpt-freq env steps) unless --fresh is given.

    python scripts/train_behaviour_policy.py \
        --evaluate mindspore_rl_ext/data/behaviour_policies/hopper_medium.npz

evaluates a policy file over --episodes stochastic and deterministic episodes, with its
gait (mean forward velocity, episode length, fall rate).

    python scripts/train_behaviour_policy.py --env hopper --seed 1 \
        --export-snapshot runs/sac_hopper_s1/snapshots/step_0095000.npz --level medium

writes one of a run's evaluation snapshots as <out>/<env>_<level>.npz, for when the run's
own level detection overshot the band (a policy chosen by its gait as well as its return).

    python scripts/train_behaviour_policy.py --env walker2d --seed 1 \
        --work-dir runs/sac_walker2d_s1 --pack-carry carried/sac_walker2d_s1

writes the run's newest checkpoint without its replay rows (a few MB, to commit); on
another machine, ``--carry carried/sac_walker2d_s1`` with the same training arguments
resumes from it, refilling the buffer with --refill-steps env steps of the policy
(mindspore_rl_ext/algorithms/sac/carry.py).
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mindspore_rl_ext.algorithms.sac.config import ENV_PRESETS  # noqa: E402
from mindspore_rl_ext.core.errors import ConfigError  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "mindspore_rl_ext", "data", "behaviour_policies")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", choices=sorted(ENV_PRESETS), default="hopper")
    p.add_argument("--target-return", type=float, default=None,
                   help="medium target return (default: per-env preset); used for the band "
                        "when --band is not given (target +-15%%) and for the fallback")
    p.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                   help="accept medium when the stochastic 10-episode return is in [LOW, HIGH]")
    p.add_argument("--expert-return", type=float, default=None,
                   help="after medium, keep training until this return (optional expert)")
    p.add_argument("--stop-at-medium", action="store_true",
                   help="stop as soon as medium is reached (when no --expert-return)")
    p.add_argument("--max-steps", type=int, default=300_000, help="env steps budget")
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--steps-per-call", type=int, default=50,
                   help="K env steps, then K updates in one compiled call")
    p.add_argument("--eval-freq", type=int, default=5_000)
    p.add_argument("--ckpt-freq", type=int, default=25_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help="folder of the exported policies")
    p.add_argument("--work-dir", default=None,
                   help="checkpoints, snapshots, eval history (default runs/sac_<env>_s<seed>)")
    p.add_argument("--replay-dump", default=None,
                   help="write the replay buffer at the moment medium is reached here "
                        "(D4RL-like medium-replay .npz; large, keep it out of the package)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--pack-carry", metavar="DEST", default=None,
                   help="write the newest checkpoint of --work-dir without its replay rows to "
                        "DEST and exit")
    p.add_argument("--carry", metavar="CARRY_DIR", default=None,
                   help="resume from this carried checkpoint when --work-dir has none")
    p.add_argument("--refill-steps", type=int, default=100_000,
                   help="env steps of the policy that refill the buffer after --carry")
    p.add_argument("--device", default="CPU")
    p.add_argument("--evaluate", metavar="POLICY_NPZ", default=None,
                   help="only evaluate this behaviour policy file and exit")
    p.add_argument("--episodes", type=int, default=10,
                   help="episodes for --evaluate and --export-snapshot")
    p.add_argument("--export-snapshot", metavar="SNAPSHOT_NPZ", default=None,
                   help="write this snapshot (<work-dir>/snapshots/step_N.npz) as the policy "
                        "file of --level and exit")
    p.add_argument("--level", choices=("medium", "expert"), default="medium",
                   help="level of --export-snapshot")
    return p.parse_args(argv)


def evaluate_file(path, episodes, seed):
    import numpy as np

    from mindspore_rl_ext.algorithms.sac.export import load_behaviour_policy
    from mindspore_rl_ext.algorithms.sac.sac import evaluate_policy
    from mindspore_rl_ext.data.scores import normalized_score
    from mindspore_rl_ext.envs.gait import gait_statistics
    from mindspore_rl_ext.envs.online import OnlineEnvironment

    policy = load_behaviour_policy(path)
    env_id = policy.metadata["env_id"]
    env = OnlineEnvironment({"name": env_id})
    rng = np.random.default_rng(seed)
    out = {"path": path, "env_id": env_id, "level": policy.metadata.get("level"),
           "episodes": episodes,
           "gait": gait_statistics(env_id, lambda obs: policy(obs, rng), episodes, seed)}
    for mode, det in (("stochastic", False), ("deterministic", True)):
        rets, lens = evaluate_policy(policy, env, episodes, det, seed=seed + (0 if det else 1))
        out[mode] = {"avg_return": round(float(rets.mean()), 1),
                     "std_return": round(float(rets.std()), 1),
                     "normalized_score": round(float(normalized_score(env_id, rets.mean())), 1),
                     "avg_length": float(lens.mean())}
    print(json.dumps(out, indent=1))
    return out


def export(args):
    """--export-snapshot: evaluate the snapshot, write the policy file, print its metadata."""
    import re

    from mindspore_rl_ext.algorithms.sac.config import load_config
    from mindspore_rl_ext.algorithms.sac.export import export_snapshot

    match = re.search(r"step_(\d+)\.npz$", args.export_snapshot)
    if not match or not os.path.isfile(args.export_snapshot):
        raise ConfigError(f"--export-snapshot '{args.export_snapshot}' is not an existing "
                          f"snapshot file named step_<N>.npz")
    net_params = load_config({"env": args.env})["policy_params"]
    path, meta = export_snapshot(
        args.env, args.export_snapshot, args.level, args.out, int(match.group(1)), args.seed,
        net_params, args.episodes,
        selection=f"snapshot {os.path.basename(args.export_snapshot)} exported by hand "
                  f"(--export-snapshot)")
    print(json.dumps({"path": path, **meta}, indent=1))
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.evaluate:
        evaluate_file(args.evaluate, args.episodes, args.seed + 100_000)
        return 0
    if args.export_snapshot:
        return export(args)
    work_dir = args.work_dir or os.path.join("runs", f"sac_{args.env}_s{args.seed}")
    if args.pack_carry:
        from mindspore_rl_ext.algorithms.sac.carry import pack_carry

        print(json.dumps(pack_carry(work_dir, args.pack_carry)))
        return 0
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore(args.device)  # before any tensor op

    from mindspore_rl_ext.algorithms.sac.config import load_config
    from mindspore_rl_ext.algorithms.sac.session import SACSession
    from mindspore_rl_ext.core.run_log import RunLog

    preset = ENV_PRESETS[args.env]
    target = args.target_return or preset["medium_target"]
    if args.band:
        band = tuple(args.band)
    elif args.target_return:
        band = (0.85 * target, 1.15 * target)
    else:
        band = preset["medium_band"]
    if not band[0] <= target <= band[1]:
        raise ConfigError(f"--target-return {target} is outside the band {band}")
    cfg = load_config({"env": args.env, "seed": args.seed, "trainer_params": dict(
        max_env_steps=args.max_steps, learning_starts=args.learning_starts,
        steps_per_call=args.steps_per_call, eval_freq=args.eval_freq,
        ckpt_freq=args.ckpt_freq, medium_band=band, medium_target=target,
        expert_return=args.expert_return, stop_at_medium=args.stop_at_medium,
        refill_steps=args.refill_steps)}, "the command line")
    if args.fresh and os.path.isdir(os.path.join(work_dir, "ckpt")):
        shutil.rmtree(os.path.join(work_dir, "ckpt"))
    log = RunLog()
    if args.carry and not args.fresh:
        from mindspore_rl_ext.algorithms.sac.carry import unpack_carry

        if unpack_carry(args.carry, work_dir):
            log.info(f"Carried checkpoint {args.carry} copied to {work_dir}/ckpt")
    log.info(f"SAC {preset['env_id']} seed {args.seed}: medium band {band} (target {target}), "
        f"expert {args.expert_return}, max {args.max_steps} env steps, work dir {work_dir}, "
        f"policies -> {args.out}, replay dump -> {args.replay_dump}")
    levels = SACSession(cfg, work_dir, args.out, log, replay_dump=args.replay_dump).run(
        resume=not args.fresh).levels
    log.info("Levels: " + json.dumps(levels))
    for level, info in levels.items():
        evaluate_file(info["path"], 10, args.seed + 100_000)
    return 0


if __name__ == "__main__":
    from mindspore_rl_ext.core.cli import run_main

    sys.exit(run_main(main, {}))  # exit 143 / 130 after SIGTERM / SIGINT (checkpoint saved)
