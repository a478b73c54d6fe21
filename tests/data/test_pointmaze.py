"""PointMaze: the grid planner, the PD waypoint controller, generated datasets (shapes,
splits at successes, rewards recomputed from positions and goals, reproducibility), bad
inputs, and the flat evaluation env against the dataset's observation layout."""
import json

import gymnasium as gym
import minari
import numpy as np
import pytest

from mindspore_rl_ext.core.errors import DatasetError
from mindspore_rl_ext.data import pointmaze
from mindspore_rl_ext.data.generate import generate_dataset, main
from mindspore_rl_ext.data.minari_io import datasets_root, load_minari
from mindspore_rl_ext.envs import pointmaze as envs
from mindspore_rl_ext.envs.gym_environment import make_env

pytest.importorskip("gymnasium_robotics")

STEPS = 800


def free_cells(layout):
    return [(r, c) for r, row in enumerate(layout) for c, cell in enumerate(row) if cell != 1]


def grid_distances(layout, goal):
    """Shortest 4-connected step counts to goal by value iteration (independent of BFS)."""
    walls = np.array([[cell == 1 for cell in row] for row in layout])
    dist = np.full(walls.shape, np.inf)
    dist[goal] = 0
    for _ in range(walls.size):
        shifted = np.full((4, *walls.shape), np.inf)
        shifted[0, 1:], shifted[1, :-1] = dist[:-1], dist[1:]
        shifted[2, :, 1:], shifted[3, :, :-1] = dist[:, :-1], dist[:, 1:]
        dist = np.where(walls, np.inf, np.minimum(dist, shifted.min(0) + 1))
    return dist


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("minari")
    for level in ("umaze", "umaze-dense"):
        generate_dataset("pointmaze", level, steps=STEPS, seed=3, dataset_root=root,
                         progress=False, ref_episodes=2)
    return root


@pytest.mark.parametrize("maze", envs.MAZES)
def test_solver_paths_are_shortest_paths_of_free_cells(maze):
    layout = envs.maze_map(maze)
    cells = free_cells(layout)
    rng = np.random.default_rng(0)
    for goal in cells[::3]:
        dist = grid_distances(layout, goal)
        for start in cells:
            path = pointmaze.solve_maze(layout, start, goal)
            assert path[0] == start and path[-1] == goal
            assert all(layout[r][c] != 1 for r, c in path)
            steps = np.abs(np.diff(np.array(path), axis=0)).sum(1)
            assert np.all(steps == 1), f"{start}->{goal}: not 4-connected {path}"
            assert len(path) - 1 == dist[start]
    env_maze = envs.make_pointmaze(maze, dense=False).maze
    path = pointmaze.solve_maze(layout, cells[0], cells[-1])
    goal_xy = env_maze.cell_rowcol_to_xy(np.array(cells[-1])) + 0.2
    points = pointmaze.waypoints(env_maze, path, goal_xy, rng)
    assert len(points) == len(path) - 1
    assert [tuple(env_maze.cell_xy_to_rowcol(p)) for p in points] == path[1:]
    np.testing.assert_array_equal(points[-1], goal_xy)
    centres = np.array([env_maze.cell_rowcol_to_xy(np.array(c)) for c in path[2:-1]])
    offsets = centres - points[1:-1]
    assert np.all((offsets >= 0) & (offsets < pointmaze.WAYPOINT_JITTER))


def test_controller_reaches_umaze_goals_from_several_starts():
    env = envs.make_pointmaze("umaze", dense=False, continuing_task=False)
    reached = []
    for episode in range(10):
        obs, _ = env.reset(seed=episode)
        controller = pointmaze.WaypointController(env.maze, np.random.default_rng(episode))
        for _ in range(300):
            obs, _, terminated, _, info = env.step(controller(envs.flatten(obs)))
            if terminated:
                break
        reached.append(info["success"])
    env.close()
    assert np.mean(reached) >= 0.9, reached


def episodes_of(ds):
    starts = ds.episode_starts()
    return list(zip(starts, ds.episode_ends))


@pytest.mark.parametrize("level", ["umaze", "umaze-dense"])
def test_dataset_layout_splits_and_rewards(root, level):
    ds = load_minari(f"msrl_ext/pointmaze/{level}-v0", root)
    dense = level.endswith("dense")
    assert len(ds) == STEPS and ds.obs_dim == 6 and ds.act_dim == 2
    assert ds.env_id == envs.eval_id("umaze", dense)
    meta = ds.metadata["msrl_ext"]
    assert meta["observation_layout"] == envs.OBS_LAYOUT and meta["seed"] == 3
    assert ds.ref_min_score == meta["ref_scores"]["ref_min_score"] < ds.ref_max_score
    assert np.abs(ds.actions).max() <= 1.0
    spans = episodes_of(ds)
    assert len(spans) > 3
    distance = np.linalg.norm(ds.next_observations[:, :2] - ds.next_observations[:, 4:], axis=1)
    success = distance <= envs.SUCCESS_DISTANCE
    expected = np.exp(-distance) if dense else success.astype(np.float64)
    np.testing.assert_allclose(ds.rewards, expected, rtol=1e-5, atol=1e-6)
    for k, (start, end) in enumerate(spans):
        goal = ds.observations[start, 4:]
        np.testing.assert_array_equal(ds.observations[start:end, 4:], np.broadcast_to(goal, (end - start, 2)))
        np.testing.assert_array_equal(ds.next_observations[start:end, 4:], ds.observations[start:end, 4:])
        np.testing.assert_array_equal(ds.observations[start + 1:end], ds.next_observations[start:end - 1])
        assert not success[start:end - 1].any(), "an episode ends at its first success"
        last = k == len(spans) - 1
        assert ds.terminals[end - 1] == (not last) and ds.timeouts[end - 1] == last
        if not last:
            assert success[end - 1]
            # no reset between segments: the ball goes on; the new goal is a new goal
            np.testing.assert_array_equal(ds.observations[end, :4], ds.next_observations[end - 1, :4])
            assert np.linalg.norm(ds.observations[end, 4:] - ds.next_observations[end - 1, 4:]) > 1e-3
            assert np.linalg.norm(ds.observations[end, :2] - ds.observations[end, 4:]) > envs.SUCCESS_DISTANCE
    jumps = np.linalg.norm(ds.next_observations[:, :2] - ds.observations[:, :2], axis=1)
    assert jumps.max() < 0.5 and not np.any(np.all(ds.observations == 0, axis=1))
    with datasets_root(root):
        eps = list(minari.load_dataset(f"msrl_ext/pointmaze/{level}-v0").iterate_episodes())
    assert [len(ep.infos["success"]) for ep in eps] == [len(ep.rewards) + 1 for ep in eps]
    np.testing.assert_array_equal(np.concatenate([ep.infos["success"][1:] for ep in eps]), success)


def test_same_seed_same_data_other_seed_other_data(root, tmp_path):
    generate_dataset("pointmaze", "umaze", steps=STEPS, seed=3, dataset_root=tmp_path,
                     progress=False, ref_episodes=2)
    generate_dataset("pointmaze", "umaze", steps=STEPS, seed=4, dataset_root=tmp_path,
                     progress=False, ref_episodes=2, dataset_id="msrl_ext/pointmaze/s4-v0")
    first = load_minari("msrl_ext/pointmaze/umaze-v0", root)
    again = load_minari("msrl_ext/pointmaze/umaze-v0", tmp_path)
    other = load_minari("msrl_ext/pointmaze/s4-v0", tmp_path)
    for key in ("observations", "actions", "rewards", "terminals", "timeouts", "episode_ends"):
        np.testing.assert_array_equal(getattr(first, key), getattr(again, key), err_msg=key)
    assert (first.ref_min_score, first.ref_max_score) == (again.ref_min_score, again.ref_max_score)
    assert not np.array_equal(first.actions, other.actions)


def test_eval_env_observation_matches_dataset_layout(root):
    ds = load_minari("msrl_ext/pointmaze/umaze-v0", root)
    env = make_env(ds.env_id)
    assert env.observation_space.shape == (ds.obs_dim,) and env.spec.max_episode_steps == 300
    ds.check_env_dims(env)
    obs, _ = env.reset(seed=0)
    inner = env.unwrapped
    np.testing.assert_allclose(obs[:2], inner.data.qpos)
    np.testing.assert_allclose(obs[2:4], inner.data.qvel)
    np.testing.assert_allclose(obs[4:], inner.goal)
    assert tuple(inner.maze.cell_xy_to_rowcol(inner.goal)) == envs.MAZE_SPECS["umaze"][1]
    controller = pointmaze.WaypointController(inner.maze, np.random.default_rng(0), noise=0.0)
    goal, total, steps, done = obs[4:].copy(), 0.0, 0, False
    while not done:
        obs, reward, term, trunc, info = env.step(controller(obs))
        np.testing.assert_array_equal(obs[4:], goal)  # never resampled
        assert reward == float(np.linalg.norm(obs[:2] - goal) <= envs.SUCCESS_DISTANCE)
        total, steps, done = total + reward, steps + 1, term or trunc
    env.close()
    assert steps == 300 and not term and total > 0


def test_bad_inputs_name_the_argument(tmp_path, capsys):
    with pytest.raises(DatasetError, match=r"--level 'medium-expert' is not one of \('umaze'"):
        generate_dataset("pointmaze", "medium-expert", steps=10, dataset_root=tmp_path)
    with pytest.raises(DatasetError, match="--steps must be a positive integer, got 0"):
        generate_dataset("pointmaze", "umaze", steps=0, dataset_root=tmp_path)
    with pytest.raises(DatasetError, match="--ref-episodes must be a positive integer"):
        generate_dataset("pointmaze", "umaze", steps=10, dataset_root=tmp_path, ref_episodes=0)
    with pytest.raises(DatasetError, match="neither --policy-dir nor --from-transitions"):
        generate_dataset("pointmaze", "umaze", steps=10, dataset_root=tmp_path,
                         from_transitions="x.hdf5")
    with pytest.raises(DatasetError, match="--level 'umaze' is not one of"):
        generate_dataset("hopper", "umaze", steps=10, dataset_root=tmp_path)
    layout = envs.maze_map("umaze")
    with pytest.raises(DatasetError, match=r"start cell \(0, 0\) is not a free cell"):
        pointmaze.solve_maze(layout, (0, 0), (1, 1))
    with pytest.raises(DatasetError, match=r"goal cell \(9, 1\) is not a free cell of the 5x5"):
        pointmaze.solve_maze(layout, (1, 1), (9, 1))
    walled = [list(row) for row in layout]
    walled[1][2] = 1
    with pytest.raises(DatasetError, match=r"goal cell \(1, 1\) is not reachable from \(3, 1\)"):
        pointmaze.solve_maze(walled, (3, 1), (1, 1))
    assert main(["--env", "pointmaze", "--level", "umaze", "--steps", "-5",
                 "--dataset-root", str(tmp_path)]) == 2
    assert "--steps must be a positive integer, got -5" in capsys.readouterr().err
    assert not (tmp_path / "msrl_ext").exists()


def test_cli_writes_the_named_level(tmp_path, capsys):
    assert main(["--env", "pointmaze", "--level", "umaze-dense", "--steps", "50", "--seed", "1",
                 "--ref-episodes", "1", "--dataset-root", str(tmp_path), "--no-progress"]) == 0
    assert "wrote msrl_ext/pointmaze/umaze-dense-v0: 50 steps" in capsys.readouterr().out
    meta = json.loads((tmp_path / "msrl_ext/pointmaze/umaze-dense-v0/data/metadata.json").read_text())
    assert meta["env_spec"] and json.loads(meta["env_spec"])["id"] == "msrl_ext/PointMaze_UMazeDense-v0"
    assert gym.spec(json.loads(meta["env_spec"])["id"]).max_episode_steps == 300
