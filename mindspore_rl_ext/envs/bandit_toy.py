"""2-D one-step bandit datasets of the Diffusion-QL/QG toy: ``bandit_toy.py`` of the "Q-guided"
QG fork of Diffusion-QL (DarthUtopian/Online-Adaptive-Diffusion-Policies), a variant of the
2-D bandit toy experiment of the Diffusion-QL paper (Wang, Hunt & Zhou, ICLR 2023).

State is always 0 (2-d zeros), the action is a point in the plane, the episode ends after
one step (terminal = 1, discount 0), so the optimal Q is the reward. Datasets follow
QGPO/CEP's ``train_data_gen`` as used by the QG fork's ``bandit_toy.py``:

* ``8gaussians``: 8 centres on a radius-4 circle, each point centre + N(0, 0.5^2) per dim, the
  whole set divided by 1.414; reward = idx/7 by centre index (0 at the top, increasing
  counter-clockwise, 1 at the upper right).
* ``rings``: 4 circles of radius 3, 2.25, 1.5, 0.75 (N/4 points each, evenly spaced angles),
  reward by squared radius (0.667 / 0.333 / 1.0 / 0.0), N(0, 0.08^2) noise added after.
* ``swissroll``: sklearn's make_swiss_roll(noise=1.0) columns [0, 2] / 5 (reimplemented here in
  NumPy, no sklearn), reward = |a|^2 / 9.

``reward_fn(name)`` scores arbitrary actions (for sampled actions): 8gaussians by the nearest
centre within 3 std of it (0 off every mode), rings by the same radius bands, swissroll by
|a|^2/9.

For the Diffusion-QL Session, ``toy_transitions`` is the dataset of its replay buffer and
``BanditEnvironment`` its evaluation environment: one episode is one action at state 0, its
return that action's reward.
"""
import numpy as np

from mindspore_rl_ext.core.errors import ConfigError

TOY_DATASETS = ("8gaussians", "rings", "swissroll")
MAX_ACTION = 4.5
STATE_DIM = 2
ACTION_DIM = 2

_S = 1.0 / np.sqrt(2.0)
GAUSSIAN_CENTRES = 4.0 * np.array(
    [(0, 1), (-_S, _S), (-1, 0), (-_S, -_S), (0, -1), (_S, -_S), (1, 0), (_S, _S)], np.float64)
GAUSSIAN_SCALE = 1.414
GAUSSIAN_STD = 0.5
RING_RADII = (3.0, 2.25, 1.5, 0.75)


def _rings_reward(sq_radius):
    sq = np.asarray(sq_radius)
    return np.select([sq >= 8.5, sq >= 5.0, sq >= 2.0], [0.667, 0.333, 1.0], default=0.0)


SUPPORT_SIGMAS = 3.0


def reward_fn(name, support_sigmas=SUPPORT_SIGMAS):
    """Vectorised reward of actions (N, 2) -> (N,) for dataset ``name``.

    8gaussians: the nearest centre's reward idx/7 when the action lies within
    ``support_sigmas`` standard deviations of that centre, else 0 (an action off every
    mode is not "on a high-reward mode"; None disables the check).
    """
    if name == "8gaussians":
        def fn(actions):
            sq_dist = _gaussian_sq_distances(actions)
            r = sq_dist.argmin(1) / 7.0
            if support_sigmas is not None:
                r = np.where(_within_support(sq_dist, support_sigmas), r, 0.0)
            return r
        return fn
    if name == "rings":
        return lambda actions: _rings_reward((np.asarray(actions, np.float64).reshape(-1, 2) ** 2).sum(-1))
    if name == "swissroll":
        return lambda actions: (np.asarray(actions, np.float64).reshape(-1, 2) ** 2).sum(-1) / 9.0
    raise ValueError(f"toy dataset '{name}' is not one of {', '.join(TOY_DATASETS)}")


def support_mask(name, actions, support_sigmas=SUPPORT_SIGMAS):
    """True where an action lies on the data (8gaussians: within support_sigmas std of a
    centre; the other datasets: everywhere), for plots."""
    if name != "8gaussians":
        return np.ones(len(np.asarray(actions).reshape(-1, 2)), bool)
    return _within_support(_gaussian_sq_distances(actions), support_sigmas)


def _gaussian_sq_distances(actions):
    """(N, 8) squared distances of actions (N, 2) to the 8gaussians centres."""
    a = np.asarray(actions, np.float64).reshape(-1, 2)
    centres = GAUSSIAN_CENTRES / GAUSSIAN_SCALE
    return ((a[:, None, :] - centres[None]) ** 2).sum(-1)


def _within_support(sq_distances, support_sigmas):
    """Whether the nearest centre is within support_sigmas of its std."""
    return sq_distances.min(1) <= (support_sigmas * GAUSSIAN_STD / GAUSSIAN_SCALE) ** 2


def sample_actions(name, n, rng):
    """(actions (n, 2), rewards (n,)) drawn from the toy's behaviour distribution."""
    if name == "8gaussians":
        idx = rng.integers(0, 8, n)
        pts = GAUSSIAN_CENTRES[idx] + GAUSSIAN_STD * rng.standard_normal((n, 2))
        return pts / GAUSSIAN_SCALE, idx / 7.0
    if name == "rings":
        per = n // 4
        pts, rew = [], []
        for k, radius in enumerate(RING_RADII):
            m = per if k < 3 else n - 3 * per
            theta = np.linspace(0, 2 * np.pi, m, endpoint=False)
            p = radius * np.stack([np.cos(theta), np.sin(theta)], 1)
            pts.append(p)
            rew.append(_rings_reward((p ** 2).sum(1)))
        pts, rew = np.concatenate(pts), np.concatenate(rew)
        pts = pts + 0.08 * rng.standard_normal(pts.shape)
        perm = rng.permutation(n)
        return pts[perm], rew[perm]
    if name == "swissroll":
        t = 1.5 * np.pi * (1 + 2 * rng.random(n))
        x = t * np.cos(t)
        z = t * np.sin(t)
        pts = np.stack([x, z], 1) + 1.0 * rng.standard_normal((n, 2))
        pts = pts / 5.0
        return pts, (pts ** 2).sum(1) / 9.0
    raise ValueError(f"toy dataset '{name}' is not one of {', '.join(TOY_DATASETS)}")


def make_toy_dataset(name, size=100_000, seed=0):
    """Transition arrays of a one-step bandit: observations = next_observations = 0, terminals 1."""
    rng = np.random.default_rng(seed)
    actions, rewards = sample_actions(name, int(size), rng)
    zeros = np.zeros((int(size), STATE_DIM), np.float32)
    return {
        "observations": zeros,
        "actions": actions.astype(np.float32),
        "rewards": rewards.astype(np.float32),
        "next_observations": zeros.copy(),
        "terminals": np.ones(int(size), np.float32),
        "timeouts": np.zeros(int(size), np.float32),
    }


def toy_transitions(name, size=100_000, seed=0):
    """``make_toy_dataset`` as a TransitionDataset (every transition one episode)."""
    from mindspore_rl_ext.data.transitions import TransitionDataset

    if name not in TOY_DATASETS:
        raise ConfigError(f"toy dataset '{name}' is not one of {', '.join(TOY_DATASETS)}")
    arrays = make_toy_dataset(name, size, seed)
    return TransitionDataset(**arrays, episode_ends=np.arange(1, int(size) + 1, dtype=np.int64),
                             env_id=name, source=f"bandit toy {name} ({int(size)} transitions, "
                                                 f"seed {seed})")


class BanditEnvironment:
    """An environment entry of the Session config: ``params = {name, seed}`` (name None:
    the replay buffer's toy). ``run_episodes`` acts once at state 0 per episode and returns
    the rewards of the chosen actions (``reward_fn``)."""

    def __init__(self, params, replay_buffer=None):
        self.name = params.get("name") or getattr(replay_buffer, "env_id", None)
        if self.name not in TOY_DATASETS:
            raise ConfigError(f"bandit environment '{self.name}' is not one of "
                              f"{', '.join(TOY_DATASETS)}")
        self.seed = int(params.get("seed", 0))
        self.reward = reward_fn(self.name)

    def run_episodes(self, policy, num_episodes, vectorized=True):
        """Rewards (num_episodes,) of ``policy``'s actions at state 0 (always one batch)."""
        return self.reward(policy(np.zeros((int(num_episodes), STATE_DIM), np.float32)))

    def close(self):
        pass
