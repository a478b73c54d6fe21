"""PointMaze datasets the way Minari's ``D4RL/pointmaze/*-v2`` were made: a waypoint planner
over the maze grid and a PD controller toward random goals.

Recipe (Minari, minari-dataset-generation-scripts ``scripts/pointmaze``: create_pointmaze_dataset.py,
controller.py, maze_solver.py; after D4RL's maze2d ``waypoint_controller.py``):

- Env: gymnasium-robotics ``PointMaze_{UMaze,Medium,Large}[Dense]-v3`` with
  ``continuing_task=True, reset_target=True``: on success (distance <= 0.45) the env draws a
  new goal and the ball goes on; the env is reset once, at the start.
- Planner (:func:`solve_maze`): breadth-first search over the free cells (4 moves), a
  shortest path to the goal cell (Minari uses Q-iteration, whose greedy rollout is also a
  shortest path). Waypoints (:func:`waypoints`): the path's cell centres, each after the
  first shifted by -0.2 * U(0, 1) per axis, and the exact goal last. Replanned whenever the
  goal moves by more than 1e-3.
- Controller (:class:`WaypointController`): ``a = 10 (waypoint - xy) - 1 * velocity``, plus
  N(0, 0.5^2) noise, clipped to [-1, 1]; the next waypoint is taken at distance <= 0.1.
- Episodes end at each success, as Minari's, but as a **termination** (reward against the
  goal just reached; IQL's goal-reaching convention), where Minari marks a truncation. The
  last episode, cut by the step budget, is a truncation.
- Observation ``[x, y, vx, vy, goal_x, goal_y]`` (mindspore_rl_ext.envs.pointmaze). The
  first observation of an episode after a success carries the **new** goal (the env's obs
  of the success step still holds the old one: Minari#265); the last next_observation of
  a successful episode holds the goal it reached. Rewards are the env's, on next_obs:
  sparse ``1[d <= 0.45]``, dense ``exp(-d)``, d = |xy' - goal| (no D4RL#194 off-by-one).

Reference scores (:func:`reference_scores`): D4RL's method on the evaluation env (fixed
D4RL goal, 300/600/800 steps): ref min = mean return of uniform random actions, ref max =
mean return of the noise-free controller, a fresh one per episode (D4RL#159 reused one),
100 episodes each, seeds 0..99. D4RL's maze2d-v1 values do not apply: other physics
(mujoco-py, grid coordinates, 0.5 radius) and no goal in the observation.
"""
import collections
from typing import Iterator

import gymnasium as gym
import numpy as np
from minari.data_collector import EpisodeBuffer

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.envs import pointmaze as envs

LEVELS = tuple(f"{maze}{suffix}" for maze in envs.MAZES for suffix in ("", "-dense"))
P_GAIN, D_GAIN, ACTION_NOISE = 10.0, -1.0, 0.5
WAYPOINT_RADIUS = 0.1
WAYPOINT_JITTER = 0.2
REPLAN_DISTANCE = 1e-3
REF_EPISODES = 100
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


def parse_level(level: str) -> tuple[str, bool]:
    """'umaze' -> ('umaze', False); 'large-dense' -> ('large', True)."""
    if level not in LEVELS:
        raise DatasetError(f"pointmaze --level '{level}' is not one of {LEVELS}")
    maze, _, dense = level.partition("-")
    return maze, bool(dense)


def solve_maze(maze_map: list, start: tuple, goal: tuple) -> list[tuple[int, int]]:
    """A shortest 4-connected path of free cells (maze_map value != 1) from start to goal,
    both (row, col) and included; DatasetError if either is a wall or goal is unreachable."""
    grid = np.asarray([[cell == 1 for cell in row] for row in maze_map])
    start, goal = tuple(map(int, start)), tuple(map(int, goal))
    for name, cell in (("start", start), ("goal", goal)):
        if not (0 <= cell[0] < grid.shape[0] and 0 <= cell[1] < grid.shape[1]) or grid[cell]:
            raise DatasetError(f"maze solver: {name} cell {cell} is not a free cell of the "
                               f"{grid.shape[0]}x{grid.shape[1]} maze")
    parent = {start: None}
    queue = collections.deque([start])
    while queue and goal not in parent:
        row, col = queue.popleft()
        for d_row, d_col in MOVES:
            cell = (row + d_row, col + d_col)
            if cell not in parent and not grid[cell]:  # the border is all walls
                parent[cell] = (row, col)
                queue.append(cell)
    if goal not in parent:
        raise DatasetError(f"maze solver: goal cell {goal} is not reachable from {start}")
    path = [goal]
    while path[-1] != start:
        path.append(parent[path[-1]])
    return path[::-1]


def waypoints(maze, path: list, goal_xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(len(path) - 1 or 1, 2) xy waypoints after the start cell: cell centres, those after
    the first shifted by -0.2 * U(0, 1) per axis, the last replaced by goal_xy."""
    cells = path[1:] or path
    points = np.array([maze.cell_rowcol_to_xy(np.asarray(cell)) for cell in cells])
    points[1:] -= WAYPOINT_JITTER * rng.uniform(size=(len(points) - 1, 2))
    points[-1] = goal_xy
    return points


class WaypointController:
    """PD control along the planned waypoints toward obs' goal; call with a flat
    observation ``[x, y, vx, vy, goal_x, goal_y]``."""

    def __init__(self, maze, rng: np.random.Generator, noise: float = ACTION_NOISE):
        self.maze, self.rng, self.noise = maze, rng, noise
        self.goal = None
        self.points = None
        self.index = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        xy, velocity, goal = obs[:2], obs[2:4], obs[4:6]
        if self.goal is None or np.linalg.norm(goal - self.goal) > REPLAN_DISTANCE:
            self._plan(xy, goal)
        if (self.index < len(self.points) - 1
                and np.linalg.norm(self.points[self.index] - xy) <= WAYPOINT_RADIUS):
            self.index += 1
        action = P_GAIN * (self.points[self.index] - xy) + D_GAIN * velocity
        if self.noise:
            action = action + self.rng.normal(0.0, self.noise, 2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _plan(self, xy, goal):
        path = solve_maze(self.maze.maze_map, self.maze.cell_xy_to_rowcol(xy),
                          self.maze.cell_xy_to_rowcol(goal))
        self.goal, self.points, self.index = goal.copy(), waypoints(self.maze, path, goal,
                                                                    self.rng), 0


def collect(maze: str, dense: bool, steps: int, seed: int) -> Iterator[EpisodeBuffer]:
    """Yield the episodes of `steps` controller steps (see the module docstring); the same
    for the same seed. Each EpisodeBuffer's infos hold ``success`` per observation (T+1)."""
    env_seed, action_rng = np.random.SeedSequence(seed).spawn(2)
    env = envs.make_pointmaze(maze, dense, continuing_task=True, reset_target=True)
    try:
        obs, _ = env.reset(seed=int(env_seed.generate_state(1)[0]))
        controller = WaypointController(env.unwrapped.maze, np.random.default_rng(action_rng))
        episode = _Episode(envs.flatten(obs))
        for step in range(steps):
            action = controller(episode.observations[-1])
            obs, reward, _, _, info = env.step(action)
            success = bool(info["success"])
            episode.add(action, envs.flatten(obs), reward, success)
            if success or step == steps - 1:
                yield episode.buffer(terminated=success)
                # the env drew the next goal after building obs: start with the new goal
                episode = _Episode(np.concatenate([obs["observation"], env.unwrapped.goal]))
    finally:
        env.close()


class _Episode:
    """The growing lists of one episode."""

    def __init__(self, first_obs):
        # infos as Minari's DataCollector keeps them: T+1 entries, the first for first_obs
        # (never a success: a new goal is drawn more than 0.45 away)
        self.observations, self.actions, self.rewards = [first_obs], [], []
        self.success = [False]

    def add(self, action, next_obs, reward, success):
        self.actions.append(action)
        self.observations.append(next_obs)
        self.rewards.append(float(reward))
        self.success.append(success)

    def buffer(self, terminated):
        ends = np.zeros(len(self.rewards), bool)
        ends[-1] = True
        return EpisodeBuffer(observations=np.asarray(self.observations, np.float64),
                             actions=np.asarray(self.actions, np.float32),
                             rewards=np.asarray(self.rewards, np.float64),
                             terminations=ends & terminated, truncations=ends & (not terminated),
                             infos={"success": np.asarray(self.success, bool)})


def dataset_parts(level: str, steps: int, seed: int, ref_episodes: int = REF_EPISODES):
    """(episodes, evaluation env, ref scores, provenance) of a pointmaze level, for the
    generator's writer; DatasetError for an unknown level or a bad step budget."""
    maze, dense = parse_level(level)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise DatasetError(f"--steps must be a positive integer, got {steps!r}")
    if not isinstance(ref_episodes, int) or isinstance(ref_episodes, bool) or ref_episodes < 1:
        raise DatasetError(f"--ref-episodes must be a positive integer, got {ref_episodes!r}")
    try:
        refs = reference_scores(maze, dense, ref_episodes)
    except ImportError as err:
        raise DatasetError(f"--env pointmaze: {err}") from None
    provenance = {
        "seed": seed, "steps": steps, "collection_env_id": envs.robotics_id(maze, dense),
        "collection_env_kwargs": {"continuing_task": True, "reset_target": True},
        "eval_env_id": envs.eval_id(maze, dense), "eval_goal_cell": envs.MAZE_SPECS[maze][1],
        "observation_layout": envs.OBS_LAYOUT,
        "observation_source": "[observation(4), desired_goal(2)] of the Dict observation",
        "reward": "exp(-d)" if dense else f"1[d <= {envs.SUCCESS_DISTANCE}]",
        "episode_end": "termination at each success (goal reached), truncation at the step "
                       "budget; goal resampled on success",
        "controller": {"p_gain": P_GAIN, "d_gain": D_GAIN, "action_noise_std": ACTION_NOISE,
                       "waypoint_radius": WAYPOINT_RADIUS, "waypoint_jitter": WAYPOINT_JITTER,
                       "planner": "BFS shortest path on the maze grid"},
        "ref_scores": {"method": "D4RL: ref min = uniform random actions, ref max = noise-free "
                                 "waypoint controller, mean return on the eval env",
                       **refs},
    }
    eval_env = gym.make(envs.eval_id(maze, dense))
    return collect(maze, dense, steps, seed), eval_env, refs, provenance


def reference_scores(maze: str, dense: bool, episodes: int = REF_EPISODES) -> dict:
    """D4RL-style ref min / max on the evaluation env: mean returns of uniform random actions
    and of the noise-free controller over `episodes` episodes (seeds 0..episodes-1)."""
    env = gym.make(envs.eval_id(maze, dense))
    try:
        random_rng = np.random.default_rng(0)
        ref_min = _mean_return(env, episodes, lambda obs: random_rng.uniform(-1.0, 1.0, 2))
        ref_max = _mean_return(env, episodes, None)
    finally:
        env.close()
    return {"ref_min_score": ref_min, "ref_max_score": ref_max, "episodes": episodes,
            "env_id": envs.eval_id(maze, dense)}


def _mean_return(env, episodes, policy):
    """Mean return over episodes; policy None: a fresh noise-free WaypointController each."""
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=i)
        act = policy or WaypointController(env.unwrapped.maze, np.random.default_rng(i),
                                           noise=0.0)
        total, done = 0.0, False
        while not done:
            obs, reward, term, trunc, _ = env.step(act(obs))
            total += float(reward)
            done = term or trunc
        returns.append(total)
    return float(np.mean(returns))
