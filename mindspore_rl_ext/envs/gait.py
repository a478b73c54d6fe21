"""Gait statistics of a locomotion policy: does it move forward, how long do its episodes
last, how often does it fall.

Return alone cannot tell a Hopper that hops forward from one that balances in place (both
earn ~1,000 over 1,000 steps from the healthy bonus), and data from a policy that never
falls shows a critic no bad outcome. D4RL's hopper-medium policy hops forward and falls
after ~460 steps on average; these numbers are recorded in every behaviour policy's
metadata and in ``mindspore_rl_ext/data/README.md``.
"""
from typing import Callable

import numpy as np

from mindspore_rl_ext.envs.gym_environment import make_env


def gait_statistics(env_id: str, act: Callable[[np.ndarray], np.ndarray], episodes: int,
                    seed: int = 0) -> dict:
    """Run ``episodes`` episodes of ``act`` (observation -> action) from
    ``reset(seed=seed + i)``; returns

    - ``avg_return``, ``std_return``, ``avg_length``;
    - ``fall_rate``: the fraction of episodes that ended by termination (a fall), not
      by the time limit;
    - ``mean_forward_velocity``: the mean of ``info["x_velocity"]`` over all steps (None
      for environments that do not report it).
    """
    env = make_env(env_id)
    returns, lengths, falls, velocities = [], [], 0, []
    try:
        for i in range(int(episodes)):
            obs, _ = env.reset(seed=int(seed) + i)
            total, steps, done = 0.0, 0, False
            while not done:
                action = np.clip(act(np.asarray(obs, np.float32)), env.action_space.low,
                                 env.action_space.high)
                obs, reward, term, trunc, info = env.step(action)
                total += float(reward)
                steps += 1
                if "x_velocity" in info:
                    velocities.append(float(info["x_velocity"]))
                done = term or trunc
            falls += bool(term)
            returns.append(total)
            lengths.append(steps)
    finally:
        env.close()
    returns = np.asarray(returns)
    return {"episodes": int(episodes),
            "avg_return": round(float(returns.mean()), 1),
            "std_return": round(float(returns.std()), 1),
            "avg_length": round(float(np.mean(lengths)), 1),
            "fall_rate": round(falls / max(int(episodes), 1), 3),
            "mean_forward_velocity": (round(float(np.mean(velocities)), 3) if velocities
                                      else None)}
