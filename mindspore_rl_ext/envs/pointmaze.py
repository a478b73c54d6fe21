"""PointMaze (gymnasium-robotics ``PointMaze_*-v3``) with flat observations, and its
registered evaluation ids.

Gymnasium-Robotics' PointMaze returns a Dict observation (``observation`` = [x, y, vx, vy],
``achieved_goal`` = [x, y], ``desired_goal`` = [gx, gy]); the offline datasets and the
evaluation environments here use the flat layout of D4RL's maze2d observation plus the
goal: ``[x, y, vx, vy, gx, gy]`` (:class:`FlatGoalObservation`, :data:`OBS_LAYOUT`).

Evaluation ids (registered on import; gymnasium-robotics is imported only when one is
made): ``msrl_ext/PointMaze_{UMaze,Medium,Large}[Dense]-v0``. They follow D4RL's maze2d
evaluation and Minari's ``D4RL/pointmaze`` eval env: the maze layout with one goal cell,
D4RL's (row, col) = (1, 1) / (6, 6) / (7, 9); ``continuing_task=True, reset_target=False``,
so the goal is fixed and never resampled and an episode runs its full 300 / 600 / 800
steps; the return is the number of steps within 0.45 of the goal (sparse) or the sum of
exp(-distance) (dense). Reset: a uniform free cell other than the goal cell, +-0.25 noise.
"""
import contextlib
import os

import gymnasium as gym
import numpy as np

MAZES = ("umaze", "medium", "large")
# maze -> (gymnasium-robotics id stem, D4RL eval goal cell (row, col), eval episode steps)
MAZE_SPECS = {
    "umaze": ("PointMaze_UMaze", (1, 1), 300),
    "medium": ("PointMaze_Medium", (6, 6), 600),
    "large": ("PointMaze_Large", (7, 9), 800),
}
OBS_LAYOUT = ["x", "y", "vx", "vy", "goal_x", "goal_y"]
SUCCESS_DISTANCE = 0.45  # gymnasium-robotics maze_v4.py (its docs say 0.5; the code uses 0.45)


def robotics_id(maze: str, dense: bool) -> str:
    """The gymnasium-robotics id, e.g. 'PointMaze_UMazeDense-v3'."""
    return f"{MAZE_SPECS[maze][0]}{'Dense' if dense else ''}-v3"


def eval_id(maze: str, dense: bool) -> str:
    """The registered flat evaluation id, e.g. 'msrl_ext/PointMaze_UMazeDense-v0'."""
    return f"msrl_ext/{MAZE_SPECS[maze][0]}{'Dense' if dense else ''}-v0"


def _robotics():
    """The gymnasium_robotics package, or an ImportError saying how to install it."""
    try:
        import gymnasium_robotics
    except ImportError as err:
        raise ImportError("PointMaze needs gymnasium-robotics: pip install "
                          "'gymnasium-robotics>=1.4.2' (or mindspore_rl_ext[pointmaze])") from err
    return gymnasium_robotics


def maze_map(maze: str, eval_goal: bool = False) -> list:
    """The gymnasium-robotics layout of maze (1 = wall, 0 = free); with eval_goal, the D4RL
    goal cell holds 'g', the only goal location."""
    maps = _robotics().envs.maze.maps
    layout = [list(row) for row in {"umaze": maps.U_MAZE, "medium": maps.MEDIUM_MAZE,
                                    "large": maps.LARGE_MAZE}[maze]]
    if eval_goal:
        row, col = MAZE_SPECS[maze][1]
        layout[row][col] = maps.GOAL
    return layout


class FlatGoalObservation(gym.ObservationWrapper):
    """Dict PointMaze observation -> float64 ``[observation(4), desired_goal(2)]``."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (len(OBS_LAYOUT),), np.float64)

    def observation(self, observation: dict) -> np.ndarray:
        return flatten(observation)


def flatten(observation: dict) -> np.ndarray:
    """``[observation(4), desired_goal(2)]`` of a PointMaze Dict observation."""
    return np.concatenate([observation["observation"],
                           observation["desired_goal"]]).astype(np.float64)


def make_pointmaze(maze: str, dense: bool, continuing_task: bool = True,
                   reset_target: bool = True, eval_goal: bool = False) -> gym.Env:
    """A gymnasium-robotics PointMazeEnv (Dict observations, no time limit)."""
    if maze not in MAZE_SPECS:
        raise ValueError(f"maze '{maze}' is not one of {MAZES}")
    env = _robotics().envs.maze.point_maze.PointMazeEnv(
        maze_map=maze_map(maze, eval_goal), reward_type="dense" if dense else "sparse",
        continuing_task=continuing_task, reset_target=reset_target)
    # the model is loaded: drop the maze XML gymnasium-robotics leaves in the temp folder
    with contextlib.suppress(OSError):
        os.remove(env.tmp_xml_file_path)
    return env


def make_eval_env(maze: str, dense: bool) -> gym.Env:
    """Entry point of the evaluation ids: fixed D4RL goal, flat observations."""
    return FlatGoalObservation(make_pointmaze(maze, dense, continuing_task=True,
                                              reset_target=False, eval_goal=True))


def _register() -> None:
    for maze, (_, _, steps) in MAZE_SPECS.items():
        for dense in (False, True):
            if eval_id(maze, dense) not in gym.registry:
                gym.register(id=eval_id(maze, dense),
                             entry_point="mindspore_rl_ext.envs.pointmaze:make_eval_env",
                             kwargs={"maze": maze, "dense": dense}, max_episode_steps=steps)


_register()
