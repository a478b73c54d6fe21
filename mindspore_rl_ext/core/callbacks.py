"""Training callbacks, shaped like MindSpore Reinforcement's ``utils/callback.py``.

A trainer calls ``begin``, then ``episode_begin`` / ``episode_end`` around each
training episode (``n_steps_per_episode`` compiled gradient steps), then ``end``. The
callbacks share one :class:`CallbackParam` holding the trainer, the completed episode
count ``cur_episode`` (1-based), the episode's ``losses`` and its timing.
"""
import math
import time

from mindspore_rl_ext.core.errors import TrainingDivergedError

SEPARATOR = "-----------------------------------------"


class CallbackParam(dict):
    """A dict with attribute access."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value


class Callback:
    def begin(self, params):
        pass

    def end(self, params):
        pass

    def episode_begin(self, params):
        pass

    def episode_end(self, params):
        pass


class CallbackManager(Callback):
    """Calls its callbacks in order."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def begin(self, params):
        for cb in self.callbacks:
            cb.begin(params)

    def end(self, params):
        for cb in self.callbacks:
            cb.end(params)

    def episode_begin(self, params):
        for cb in self.callbacks:
            cb.episode_begin(params)

    def episode_end(self, params):
        for cb in self.callbacks:
            cb.episode_end(params)


class TimeCallback(Callback):
    """Measures each episode's wall time; sets ``params.per_step_time_ms``."""

    def __init__(self, steps_per_episode):
        self.steps = steps_per_episode
        self._start = None

    def episode_begin(self, params):
        self._start = time.perf_counter()

    def episode_end(self, params):
        params.per_step_time_ms = (time.perf_counter() - self._start) * 1000.0 / self.steps


class LossCallback(Callback):
    """Logs ``Episode N: critic_loss is X, ..., per_step_time T ms,`` every ``print_rate``
    episodes, and stops training on a NaN or Inf loss (naming it and the episode)."""

    def __init__(self, log, print_rate=1):
        self.log = log
        self.print_rate = max(1, int(print_rate))

    def episode_end(self, params):
        for name, value in params.losses.items():
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"{name} is {value} at episode {params.cur_episode}; training stopped, "
                    f"the last good checkpoint is kept"
                )
        if params.cur_episode % self.print_rate == 0:
            parts = "".join(f"{k} is {v:.4g}, " for k, v in params.losses.items())
            self.log.info(f"Episode {params.cur_episode}: {parts}"
                          f"per_step_time {params.get('per_step_time_ms', 0.0):.3f} ms,")


class EvaluateCallback(Callback):
    """Every ``eval_rate`` episodes: ``Evaluate for episode N total rewards is R`` with
    the normalised score (D4RL convention, x100) when the dataset has reference scores."""

    def __init__(self, log, eval_rate):
        self.log = log
        self.eval_rate = int(eval_rate)

    def episode_end(self, params):
        if self.eval_rate > 0 and params.cur_episode % self.eval_rate == 0:
            mean_return, score = params.trainer.evaluate()
            score_text = f", normalized score is {score:.2f}" if score is not None else ""
            self.log.info(SEPARATOR)
            self.log.info(f"Evaluate for episode {params.cur_episode} total rewards is "
                          f"{mean_return:.3f}{score_text}")
            self.log.info(SEPARATOR)
            params.last_eval = (mean_return, score)


class CheckpointCallback(Callback):
    """Saves every ``save_per_episode`` episodes and at the end of training."""

    def __init__(self, log, save_per_episode):
        self.log = log
        self.save_per_episode = int(save_per_episode)
        self._last_saved = None

    def _save(self, params):
        params.trainer.save_checkpoint(params.cur_episode)
        self._last_saved = params.cur_episode

    def episode_end(self, params):
        if self.save_per_episode > 0 and params.cur_episode % self.save_per_episode == 0:
            self._save(params)

    def end(self, params):
        if params.cur_episode > 0 and self._last_saved != params.cur_episode:
            self._save(params)
