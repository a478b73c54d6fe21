"""Generate a local Minari dataset from a behaviour policy (no jax, no MindSpore).

    python -m mindspore_rl_ext.data.generate --env hopper --level medium --steps 1000000 \
        --seed 0 [--dataset-root DIR] [--dataset-id ID] [--policy-dir DIR] \
        [--from-transitions FILE] [--force] [--no-progress]

Levels: ``random`` (uniform actions), ``medium`` / ``expert`` (the shipped behaviour
policy of :mod:`behaviour`, stochastic actions), ``medium-expert`` (medium then expert,
``--steps`` each: with the same seed it is exactly the medium dataset followed by the
expert one, as in D4RL), ``medium-replay`` (the SAC trainer's replay buffer, imported with
``--from-transitions hopper_medium_replay.npz``; its rows must be in time order, episodes
split at terminals/timeouts). ``--from-transitions`` imports any D4RL-format file.

PointMaze (:mod:`pointmaze`, needs gymnasium-robotics): ``--env pointmaze --level umaze``
(sparse) or ``umaze-dense`` (dense), likewise ``medium[-dense]``, ``large[-dense]``: a
waypoint planner and a noisy PD controller toward random goals, episodes split at each
success, as Minari's D4RL/pointmaze; ``--steps`` controller steps in all;
``--ref-episodes`` evaluation episodes per reference score.

Id ``msrl_ext/<env>/<level>-v0`` unless ``--dataset-id``. MuJoCo envs: episodes last at
most 1000 steps (time limit -> truncation); the last episode is cut at the step budget and
marked truncated, so a dataset holds exactly ``--steps`` steps per policy. Deterministic
for a seed: ``SeedSequence(seed)`` feeds one Generator for the per-episode
``env.reset(seed=...)`` seeds and one for the actions.
"""
import argparse
import importlib.metadata
import os
import sys

import gymnasium as gym
import mujoco
import numpy as np
from minari.data_collector import EpisodeBuffer
from minari.dataset.minari_storage import MinariStorage
from tqdm import tqdm

import mindspore_rl_ext
from mindspore_rl_ext.core.errors import DatasetError, MsRlExtError
from mindspore_rl_ext.core.files import file_sha256
from mindspore_rl_ext.data import behaviour, minari_io, pointmaze, scores
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5

ENV_IDS = {"hopper": "Hopper-v5", "walker2d": "Walker2d-v5",
           "halfcheetah": "HalfCheetah-v5", "ant": "Ant-v5"}
LEVELS = ("random", "medium", "expert", "medium-expert", "medium-replay")
POINTMAZE = "pointmaze"
MAX_EPISODE_STEPS = 1000


def dataset_id_for(env, level):
    return f"msrl_ext/{env}/{level}-v0"


def generator_args_of(dataset_id: str) -> tuple[str, str] | None:
    """The (env, level) whose default id (:func:`dataset_id_for`) is dataset_id; None for
    any other id."""
    pairs = [(env, level) for env in ENV_IDS for level in LEVELS]
    pairs += [(POINTMAZE, level) for level in pointmaze.LEVELS]
    return next((pair for pair in pairs if dataset_id_for(*pair) == dataset_id), None)


class UniformPolicy:
    """The random level's policy: uniform over the action box."""

    path = None
    metadata = {"policy": "uniform random"}

    def __init__(self, action_space):
        self.low, self.high = action_space.low, action_space.high

    def __call__(self, obs, rng):
        return rng.uniform(self.low, self.high).astype(np.float32)


def generate_dataset(env, level, steps=1_000_000, seed=0, dataset_root=None, dataset_id=None,
                     force=False, policy_dir=None, progress=True, from_transitions=None,
                     ref_episodes=pointmaze.REF_EPISODES):
    """Collect (or import) and write the dataset; returns its folder.

    policy_dir: where to find <env>_<level>.npz instead of the package's
    behaviour_policies/; from_transitions: a D4RL-format .hdf5/.npz (the SAC trainer's
    replay dump) whose episodes are written as they are; steps and seed are then unused.
    ref_episodes: evaluation episodes per reference score (pointmaze only).
    """
    if env == POINTMAZE:
        if policy_dir is not None or from_transitions is not None:
            raise DatasetError("--env pointmaze takes neither --policy-dir nor "
                               "--from-transitions (its behaviour policy is the controller)")
        return _generate_pointmaze(level, steps, seed, dataset_root, dataset_id, force,
                                   progress, ref_episodes)
    if env not in ENV_IDS:
        raise DatasetError(f"--env '{env}' is not one of {sorted(ENV_IDS)} or '{POINTMAZE}'")
    if level not in LEVELS:
        raise DatasetError(f"--level '{level}' is not one of {LEVELS}")
    if level == "medium-replay" and from_transitions is None:
        raise DatasetError("--level medium-replay needs --from-transitions FILE (the SAC "
                           "trainer's --replay-dump)")
    if from_transitions is None and (not isinstance(steps, int) or steps < 1):
        raise DatasetError(f"--steps must be a positive integer, got {steps!r}")
    dataset_id = dataset_id or dataset_id_for(env, level)
    gym_env = gym.make(ENV_IDS[env], max_episode_steps=MAX_EPISODE_STEPS)
    try:
        if from_transitions is None:
            total, episodes, provenance = _collected(env, level, steps, seed, gym_env, policy_dir)
            description = f"{steps} steps per policy, seed {seed}"
        else:
            total, episodes, provenance = _imported(env, from_transitions, gym_env)
            description = f"imported from {os.path.basename(from_transitions)}"
        provenance.update(env=env, env_id=ENV_IDS[env], level=level,
                          package_version=mindspore_rl_ext.__version__,
                          gymnasium_version=gym.__version__, mujoco_version=mujoco.__version__,
                          ref_scores="D4RL (d4rl/infos.py)")
        ref_min, ref_max = scores.D4RL_REF_SCORES[env]
        return _write(dataset_id, total, episodes, gym_env, dataset_root, force, progress,
                      (ref_min, ref_max), f"{level} behaviour policy",
                      f"{ENV_IDS[env]}, level {level}: {description}", provenance)
    finally:
        gym_env.close()


def _generate_pointmaze(level, steps, seed, dataset_root, dataset_id, force, progress,
                        ref_episodes):
    """Collect and write a pointmaze level (see :mod:`pointmaze`)."""
    dataset_id = dataset_id or dataset_id_for(POINTMAZE, level)
    minari_io.check_dataset_id(dataset_id)
    episodes, eval_env, refs, provenance = pointmaze.dataset_parts(level, steps, seed,
                                                                   ref_episodes)
    provenance.update(env=POINTMAZE, env_id=eval_env.spec.id, level=level,
                      package_version=mindspore_rl_ext.__version__,
                      gymnasium_version=gym.__version__, mujoco_version=mujoco.__version__,
                      gymnasium_robotics_version=importlib.metadata.version(
                          "gymnasium-robotics"))
    try:
        return _write(dataset_id, steps, episodes, eval_env, dataset_root, force, progress,
                      (refs["ref_min_score"], refs["ref_max_score"]),
                      "waypoint planner + noisy PD controller",
                      f"{provenance['collection_env_id']} toward random goals, level {level}: "
                      f"{steps} steps, seed {seed}", provenance)
    finally:
        eval_env.close()


def _write(dataset_id, total, episodes, gym_env, dataset_root, force, progress, ref_scores,
           algorithm_name, description, provenance):
    """write_minari with a progress bar over the steps; returns the dataset folder."""
    with tqdm(total=total, desc=dataset_id, unit="step", disable=not progress) as bar:
        return minari_io.write_minari(
            dataset_id, _progress(episodes, bar), gym_env, dataset_root=dataset_root,
            force=force, ref_min_score=ref_scores[0], ref_max_score=ref_scores[1],
            algorithm_name=algorithm_name, description=f"{description}; mindspore_rl_ext",
            metadata={"msrl_ext": provenance})


def _collected(env, level, steps, seed, gym_env, policy_dir):
    """(total steps, episode generator, provenance) of a policy-collected dataset."""
    policies = _policies(env, level, gym_env, policy_dir)
    episodes = (episode for _, policy in policies
                for episode in _collect(gym_env, policy, steps, seed))
    provenance = {"seed": seed, "steps_per_policy": steps, "max_episode_steps": MAX_EPISODE_STEPS,
                  "behaviour_policies": [_policy_record(part, policy) for part, policy in policies]}
    return steps * len(policies), episodes, provenance


def _imported(env, path, gym_env):
    """(total steps, episode generator, provenance) of a D4RL-format file's episodes."""
    source = load_d4rl_hdf5(path)
    if source.env_id not in (None, ENV_IDS[env]):
        raise DatasetError(f"'{path}' was recorded on {source.env_id}, not {ENV_IDS[env]}")
    source.check_env_dims(gym_env)
    provenance = {"source_file": os.path.basename(path), "source_sha256": file_sha256(path),
                  "source_metadata": source.metadata}
    return len(source), minari_io.episodes_from_transitions(source), provenance


def _progress(episodes, bar):
    for episode in episodes:
        bar.update(len(episode.rewards))
        yield episode


def _policies(env, level, gym_env, policy_dir):
    """[(level, policy)] in collection order."""
    if level == "random":
        return [("random", UniformPolicy(gym_env.action_space))]
    policies = []
    for part in level.split("-"):
        policy = behaviour.load_behaviour_policy(env, part, policy_dir)
        expected = (ENV_IDS[env], gym_env.observation_space.shape[0], gym_env.action_space.shape[0])
        found = (policy.metadata["env_id"], policy.obs_dim, policy.act_dim)
        if found != expected:
            raise DatasetError(f"behaviour policy '{policy.path}' is for (env_id, obs_dim, "
                               f"act_dim) = {found}, expected {expected}")
        policies.append((part, policy))
    return policies


def _collect(env, policy, steps, seed):
    """Yield EpisodeBuffers holding exactly `steps` steps in total."""
    reset_rng, action_rng = map(np.random.default_rng, np.random.SeedSequence(seed).spawn(2))
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    obs = np.empty((MAX_EPISODE_STEPS + 1, obs_dim), np.float64)
    actions = np.empty((MAX_EPISODE_STEPS, act_dim), np.float32)
    rewards = np.empty(MAX_EPISODE_STEPS, np.float64)
    terms = np.zeros(MAX_EPISODE_STEPS, bool)
    truncs = np.zeros(MAX_EPISODE_STEPS, bool)
    left = steps
    while left > 0:
        episode_seed = int(reset_rng.integers(2**31 - 1))
        obs[0], _ = env.reset(seed=episode_seed)
        t, term, trunc = 0, False, False
        while not (term or trunc):
            actions[t] = policy(obs[t], action_rng)
            obs[t + 1], rewards[t], term, trunc, _ = env.step(actions[t])
            t += 1
            left -= 1
            trunc = trunc or (left == 0 and not term)
        terms[:t], truncs[:t] = False, False
        terms[t - 1], truncs[t - 1] = term, trunc
        yield EpisodeBuffer(seed=episode_seed, observations=obs[:t + 1].copy(),
                            actions=actions[:t].copy(), rewards=rewards[:t].copy(),
                            terminations=terms[:t].copy(), truncations=truncs[:t].copy())


def _policy_record(level, policy):
    """A behaviour policy's provenance: file name, sha256 and its metadata."""
    return {"level": level, "file": os.path.basename(policy.path) if policy.path else None,
            "sha256": file_sha256(policy.path) if policy.path else None,
            "metadata": policy.metadata}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.data.generate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--env", required=True, choices=sorted(ENV_IDS) + [POINTMAZE])
    parser.add_argument("--level", required=True, choices=LEVELS + pointmaze.LEVELS,
                        help=f"MuJoCo: {', '.join(LEVELS)}; pointmaze: "
                             f"{', '.join(pointmaze.LEVELS)}")
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps per policy")
    parser.add_argument("--ref-episodes", type=int, default=pointmaze.REF_EPISODES,
                        help="pointmaze: evaluation episodes per reference score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset-root", default=None,
                        help="Minari root (default: $MINARI_DATASETS_PATH or ~/.minari/datasets)")
    parser.add_argument("--dataset-id", default=None, help="default msrl_ext/<env>/<level>-v0")
    parser.add_argument("--policy-dir", default=None,
                        help="folder of <env>_<level>.npz (default: the shipped policies)")
    parser.add_argument("--from-transitions", default=None, metavar="FILE",
                        help="import the episodes of a D4RL-format .hdf5/.npz (needed for "
                             "medium-replay: the SAC trainer's --replay-dump)")
    parser.add_argument("--force", action="store_true", help="replace an existing dataset")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        path = generate_dataset(args.env, args.level, args.steps, args.seed, args.dataset_root,
                                args.dataset_id, args.force, args.policy_dir,
                                progress=not args.no_progress,
                                from_transitions=args.from_transitions,
                                ref_episodes=args.ref_episodes)
    except MsRlExtError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    meta = MinariStorage.read_raw_metadata(path / "data")
    print(f"wrote {meta['dataset_id']}: {meta['total_steps']} steps, "
          f"{meta['total_episodes']} episodes, at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
