"""Online transitions for offline-to-online fine-tuning (Diffusion-QL, IDQL/AlignIQL): a
policy's steps in an environment, kept on the host so that a checkpoint holds them. With a
saveable environment (:class:`~mindspore_rl_ext.envs.online.OnlineEnvironment`) the
environment's mid-episode state is saved as well, and a resumed run collects exactly what an
uninterrupted one would."""
import numpy as np

COLUMNS = ("obs", "act", "rew", "next_obs", "not_done")


class OnlineCollector:
    """``collect(policy, n)`` steps ``env`` (reset with ``seed`` on first use) with
    ``policy(obs (1, S)) -> (1, A)``, actions clipped to the action space. ``rows``: the
    transitions of an earlier run ({column: array}), kept ahead of the new ones.
    :meth:`state` / :meth:`load_state` save and restore the rows, the environment (which
    must have ``get_state`` / ``set_state``), the current observation and the running
    return."""

    def __init__(self, env, seed: int, rows: dict | None = None):
        self.env = env
        self.seed = int(seed)
        self.obs = None
        self.episode_return = 0.0
        self.rows = {k: [] if rows is None else [np.asarray(rows[k])] for k in COLUMNS}

    def collect(self, policy, n_steps: int) -> tuple:
        """({column: (n_steps, ...) float32} of the new transitions, [returns of the
        episodes that ended])."""
        if self.obs is None:
            self.obs, _ = self.env.reset(seed=self.seed)
        new, returns = {k: [] for k in COLUMNS}, []
        low, high = self.env.action_space.low, self.env.action_space.high
        for _ in range(int(n_steps)):
            obs = np.asarray(self.obs, np.float32)
            act = np.clip(np.asarray(policy(obs[None])[0], np.float32), low, high)
            next_obs, rew, term, trunc, _ = self.env.step(act)
            for k, v in zip(COLUMNS, (obs, act, rew, next_obs, 0.0 if term else 1.0)):
                new[k].append(np.asarray(v, np.float32))
            self.episode_return += float(rew)
            self.obs = next_obs
            if term or trunc:
                returns.append(self.episode_return)
                self.episode_return = 0.0
                self.obs, _ = self.env.reset()
        arrays = {k: np.stack(v) for k, v in new.items()}
        for k in COLUMNS:
            self.rows[k].append(arrays[k])
        return arrays, returns

    def arrays(self) -> dict:
        """Every collected transition, {column: (n, ...)}; None before the first."""
        if not self.rows["rew"]:
            return None
        return {k: np.concatenate(v) for k, v in self.rows.items()}

    def state(self) -> dict:
        """Flat host state (arrays at the top level, as ``core.trainer`` stores them)."""
        if self.obs is None:
            return {}
        env = self.env.get_state()
        state = {f"online_{k}": v for k, v in self.arrays().items()}
        state.update(online_physics=env["physics"], online_elapsed_steps=env["elapsed_steps"],
                     online_reset_rng=env["reset_rng"],
                     online_current_obs=np.asarray(self.obs, np.float64),
                     online_episode_return=self.episode_return)
        return state

    def load_state(self, state: dict) -> dict:
        """Restore a :meth:`state`; returns the rows ({column: array}, None if none)."""
        if "online_physics" not in state:
            return None
        self.env.set_state({"physics": state["online_physics"],
                            "elapsed_steps": state["online_elapsed_steps"],
                            "reset_rng": state["online_reset_rng"]})
        self.obs = np.asarray(state["online_current_obs"])
        self.episode_return = float(state["online_episode_return"])
        self.rows = {k: [np.asarray(state[f"online_{k}"])] for k in COLUMNS}
        return self.arrays()
