"""Trainer base class: the episode loop, checkpoints with true resume, signals.

A subclass supplies ``train_one_episode``, ``evaluate``, ``trainable_variables``
(network name -> cell, saved one folder each) and ``resume_cell`` (everything else a
resume needs: targets, optimiser states); ``host_state`` / ``load_host_state`` cover
what lives outside MindSpore (RNG state, counters, normalisation stats; its top-level
NumPy arrays -- a replay buffer, a simulator state -- go into the train-state file, the
rest into its JSON). ``finished`` may end training before the planned episodes. Training holds
the checkpoint folder's writer lock (one writer per folder); loading for evaluation
takes none.
"""
import contextlib
import signal
from collections.abc import Iterator

import mindspore as ms
import numpy as np
from tqdm import tqdm

from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.callbacks import CallbackParam
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, TrainingDivergedError
from mindspore_rl_ext.core.folder_lock import CheckpointFolderLock


HOST_ARRAY_PREFIX = "host_state."  # train-state file entries holding host_state arrays


def split_host_state(state: dict) -> tuple:
    """(JSON part, [(entry name, Tensor)], {key: [dtype, shape]}) of a host state: its
    top-level NumPy arrays are stored as checkpoint entries (empty ones only by shape)."""
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in state.items() if k not in arrays}
    entries = [(HOST_ARRAY_PREFIX + k, ms.Tensor(v)) for k, v in arrays.items() if v.size]
    layout = {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()}
    return plain, entries, layout


def join_host_state(plain: dict, values: dict, layout: dict, path: str) -> dict:
    """The host state written by :func:`split_host_state`, ``values`` read from ``path``."""
    state = dict(plain)
    for key, (dtype, shape) in layout.items():
        name = HOST_ARRAY_PREFIX + key
        if int(np.prod(shape)) == 0:
            state[key] = np.zeros(shape, np.dtype(dtype))
        elif name not in values:
            raise CheckpointError(f"checkpoint file '{path}' has no entry '{name}'")
        else:
            state[key] = values[name]
    return state


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint was saved. ``signum`` tells which."""

    def __init__(self, signum, episode):
        super().__init__(f"stopped by {signal.Signals(signum).name} after episode {episode}")
        self.signum = signum


class Trainer:
    """Runs training episodes and evaluation for one algorithm's components."""

    def __init__(self, msrl, params, log):
        self.msrl = msrl
        self.params = params
        self.log = log
        self.ckpt_root = params["ckpt_path"]
        self.max_ckpt_num = params["max_ckpt_num"]
        self.episode = 0  # completed training episodes
        self._lock = None  # the checkpoint folder's writer lock while held

    # --- supplied by the algorithm -------------------------------------------------
    def train_one_episode(self):
        raise NotImplementedError

    def evaluate(self):
        """Return (mean return, normalised score or None)."""
        raise NotImplementedError

    def trainable_variables(self):
        raise NotImplementedError

    def resume_cell(self):
        raise NotImplementedError

    def host_state(self):
        return {}

    def load_host_state(self, state):
        pass

    def finished(self):
        """True when training should stop before the planned episodes (a goal reached)."""
        return False

    def fingerprint(self):
        """What a resumed run must share with the run that wrote the checkpoint."""
        return {}

    # --- checkpoints ---------------------------------------------------------------
    def _network_names(self):
        return list(self.trainable_variables())

    def check_weights_finite(self, episode):
        """TrainingDivergedError naming the first network parameter holding NaN or Inf."""
        for name, cell in self.trainable_variables().items():
            for pname, param in ckpt.named_params(cell):
                if not np.isfinite(param.asnumpy()).all():
                    raise TrainingDivergedError(
                        f"network '{name}' parameter '{pname}' holds NaN or Inf after episode "
                        f"{episode}; training stopped, the last good checkpoint is kept")

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the checkpoint folder's writer lock (a no-op while already held);
        CheckpointError if another training holds it."""
        if self._lock is not None:
            yield
            return
        with CheckpointFolderLock(self.ckpt_root) as lock:
            self._lock = lock
            try:
                yield
            finally:
                self._lock = None

    def save_checkpoint(self, episode):
        """Write every network, then the resume state; refuse non-finite weights so the
        last good checkpoint is never overwritten with NaNs. A write error (full disk)
        is a CheckpointError and leaves the earlier checkpoints as they were."""
        self.check_weights_finite(episode)
        networks = {name: (ckpt.named_params(cell), self.network_extras(name))
                    for name, cell in self.trainable_variables().items()}
        cell, exclude = self.resume_cell()
        host, host_arrays, layout = split_host_state(self.host_state())
        state = {"episode": episode, "fingerprint": self.fingerprint(), "host_state": host,
                 "host_arrays": layout}
        with self.writer_lock():
            ckpt.save_step(self.ckpt_root, episode, networks,
                           ckpt.named_params(cell, exclude) + host_arrays, state)
            ckpt.prune(self.ckpt_root, self._network_names(), self.max_ckpt_num)

    def network_extras(self, name):
        """Extra arrays stored in a network's file (e.g. observation normaliser)."""
        return {}

    # {fingerprint key: {old value: today's value}} for config names renamed since
    # checkpoints were written; read by upgrade_fingerprint
    LEGACY_FINGERPRINT_VALUES = {}

    def upgrade_fingerprint(self, saved):
        """A checkpoint's fingerprint in today's spelling (LEGACY_FINGERPRINT_VALUES)."""
        for key, renamed in self.LEGACY_FINGERPRINT_VALUES.items():
            if saved.get(key) in renamed:
                saved[key] = renamed[saved[key]]
        return saved

    def _check_fingerprint(self, saved, path):
        saved = self.upgrade_fingerprint(dict(saved))
        current = self.fingerprint()
        diffs = [f"{k}: checkpoint {saved.get(k)!r} vs now {current.get(k)!r}"
                 for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
        if diffs:
            raise ConfigError(
                f"cannot resume from '{path}': the config differs in what matters "
                f"({'; '.join(diffs)}); use a fresh ckpt_path or --no-resume"
            )

    def restore(self):
        """Load the newest complete checkpoint under ckpt_path; fall back past corrupt
        ones. Returns the episode resumed from (0 if none)."""
        steps = ckpt.complete_steps(self.ckpt_root, self._network_names())
        for step in reversed(steps):
            state_ckpt, state_json = ckpt.state_files(self.ckpt_root, step)
            try:
                state = ckpt.read_json(state_json)
                self._check_fingerprint(state.get("fingerprint", {}), state_json)
                for name, cell in self.trainable_variables().items():
                    path = ckpt.network_file(self.ckpt_root, name, step)
                    ckpt.assign_params(cell, ckpt.load_params(path), path)
                cell, exclude = self.resume_cell()
                values = ckpt.load_params(state_ckpt)
                ckpt.assign_params(cell, values, state_ckpt, exclude)
                self.load_host_state(join_host_state(state["host_state"], values,
                                                     state.get("host_arrays", {}), state_ckpt))
            except CheckpointError as e:
                self.log.info(f"Checkpoint at episode {step} skipped: {e}")
                continue
            self.episode = state["episode"]
            self.log.info(f"Resumed from checkpoint at episode {self.episode} in {self.ckpt_root}")
            return self.episode
        return 0

    # --- the loop ------------------------------------------------------------------
    def train(self, episodes, callbacks, resume=True):
        """Train until ``episodes`` episodes are complete (counting resumed ones), holding
        the checkpoint folder's writer lock from before the resume to the end."""
        with self.writer_lock():
            return self._train(episodes, callbacks, resume)

    def _train(self, episodes, callbacks, resume):
        if resume:
            self.restore()
        params = CallbackParam(trainer=self, cur_episode=self.episode, losses={})
        stop = {}

        def on_signal(signum, _frame):
            stop["signum"] = signum

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            callbacks.begin(params)
            with tqdm(total=episodes, initial=self.episode, desc="train", unit="episode",
                      leave=False, dynamic_ncols=True, disable=None) as bar:
                while self.episode < episodes and not self.finished():
                    callbacks.episode_begin(params)
                    params.losses = self.train_one_episode()
                    self.episode += 1
                    params.cur_episode = self.episode
                    callbacks.episode_end(params)  # the loss callback checks losses first
                    self.check_weights_finite(self.episode)
                    bar.update(1)
                    if stop:
                        self.save_checkpoint(self.episode)
                        self.log.info(f"Received {signal.Signals(stop['signum']).name}: "
                                      f"checkpoint saved at episode {self.episode}")
                        raise TrainingInterrupted(stop["signum"], self.episode)
            callbacks.end(params)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return params

    def load_networks(self, ckpt_path):
        """Load every network of ``ckpt_path`` (a folder: its newest step; or one network's
        file: that step). Returns the step."""
        root, step = ckpt.resolve_eval_checkpoint(ckpt_path, self._network_names())
        for name, cell in self.trainable_variables().items():
            path = ckpt.network_file(root, name, step)
            values = ckpt.load_params(path)
            ckpt.assign_params(cell, values, path)
            self.load_network_extras(name, values)
            self.log.info(f"Load file {path}")
        return step

    def load_and_eval(self, ckpt_path):
        """Load the networks of ``ckpt_path`` and evaluate them."""
        self.load_networks(ckpt_path)
        return self.evaluate()

    def load_network_extras(self, name, values):
        pass
