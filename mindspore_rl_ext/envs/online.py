"""A Gymnasium MuJoCo environment for online training whose whole state can be saved and
restored, so that an interrupted run resumes exactly where it stopped.

The state is what the next step and the next reset depend on: MuJoCo's integration
state (``mj_getState`` with ``mjSTATE_INTEGRATION``: time, qpos, qvel, actuator
activations, controls and the solver's warm start, without which contact steps differ
in the last bits), the time limit's elapsed steps and the environment's reset RNG.
"""
import mujoco
import numpy as np
from gymnasium.wrappers import TimeLimit

from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.envs.gym_environment import make_env

PHYSICS = mujoco.mjtState.mjSTATE_INTEGRATION


def _time_limit(env):
    while not isinstance(env, TimeLimit):
        if not hasattr(env, "env"):
            raise ConfigError(f"environment {env} has no time limit to save")
        env = env.env
    return env


class OnlineEnvironment:
    """An environment entry of an online algorithm's config: ``params = {name}`` (a
    Gymnasium MuJoCo id whose actions lie in [-1, 1]). ``reset``/``step`` as Gymnasium;
    :meth:`get_state` / :meth:`set_state` save and restore it mid-episode."""

    def __init__(self, params: dict, replay_buffer=None):
        self.name = params["name"]
        self.env = make_env(self.name)
        space = self.env.action_space
        if not (np.allclose(space.low, -1.0) and np.allclose(space.high, 1.0)):
            raise ConfigError(f"environment '{self.name}': actions must lie in [-1, 1], "
                              f"its action space is [{space.low}, {space.high}]")
        self.observation_space, self.action_space = self.env.observation_space, space
        self._limit = _time_limit(self.env)

    def reset(self, seed: int | None = None) -> tuple:
        """(observation, info) of a new episode."""
        return self.env.reset(seed=seed)

    def step(self, action) -> tuple:
        """(observation, reward, terminated, truncated, info)."""
        return self.env.step(action)

    def get_state(self) -> dict:
        """{physics: float64 array, elapsed_steps: int, reset_rng: RNG state dict}."""
        sim = self.env.unwrapped
        physics = np.empty(mujoco.mj_stateSize(sim.model, PHYSICS), np.float64)
        mujoco.mj_getState(sim.model, sim.data, physics, PHYSICS)
        return {"physics": physics, "elapsed_steps": int(self._limit._elapsed_steps),
                "reset_rng": sim.np_random.bit_generator.state}

    def set_state(self, state: dict) -> None:
        """Restore a state of :meth:`get_state` (the env need not have been reset)."""
        sim = self.env.unwrapped
        physics = np.asarray(state["physics"], np.float64)
        if physics.shape != (mujoco.mj_stateSize(sim.model, PHYSICS),):
            raise CheckpointError(f"saved physics state of '{self.name}' has shape "
                                  f"{physics.shape}, the simulator expects "
                                  f"({mujoco.mj_stateSize(sim.model, PHYSICS)},)")
        self.env.reset()  # lets the wrappers step; everything it changed is overwritten
        mujoco.mj_setState(sim.model, sim.data, physics, PHYSICS)
        mujoco.mj_forward(sim.model, sim.data)
        self._limit._elapsed_steps = int(state["elapsed_steps"])
        sim.np_random.bit_generator.state = state["reset_rng"]

    def close(self) -> None:
        self.env.close()
