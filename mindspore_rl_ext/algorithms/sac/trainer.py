"""Online SAC training driver: env stepping, host replay buffer, compiled updates,
evaluation, level detection ("medium" / "expert"), checkpoint and resume.

The loop: step the environment ``steps_per_call`` (K) times with the current policy (a
NumPy copy of its weights; uniform random actions before ``learning_starts``), then run K
SAC updates in one compiled call of :class:`SACLearner` on K batches sampled on the host.
Every ``eval_freq`` env steps the deterministic policy is evaluated; when it reaches the
medium band, the stochastic policy (the one that generates datasets) is confirmed over
``confirm_episodes`` episodes and, if its average return lies in the band, exported as
``<env>_medium.npz`` -- and the replay buffer so far is dumped as a D4RL-like
medium-replay file when a path for it was given.
"""
import json
import os
import time

import numpy as np

from mindspore_rl_ext.algorithms.sac import config as sac_config
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, TrainingDivergedError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.core.folder_lock import CheckpointFolderLock
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX, trainable_state

ALGORITHM_NAME = "SAC (mindspore_rl_ext)"


# ---------------------------------------------------------------------------------------
# Replay buffer (host, NumPy)
# ---------------------------------------------------------------------------------------
class ReplayBuffer:
    """Fixed-capacity FIFO of transitions, kept in NumPy on the host."""

    FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals",
              "timeouts")

    def __init__(self, obs_dim, act_dim, capacity):
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros((capacity,), np.float32)
        self.next_observations = np.zeros((capacity, obs_dim), np.float32)
        self.terminals = np.zeros((capacity,), bool)
        self.timeouts = np.zeros((capacity,), bool)
        self.size = 0
        self.ptr = 0

    def add(self, obs, act, rew, next_obs, terminal, timeout):
        i = self.ptr
        self.observations[i] = obs
        self.actions[i] = act
        self.rewards[i] = rew
        self.next_observations[i] = next_obs
        self.terminals[i] = terminal
        self.timeouts[i] = timeout
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample_indices(self, rng, n_batches, batch_size):
        """(n, batch) uniform row indices of stored transitions, drawn with ``rng``."""
        return rng.integers(0, self.size, size=(n_batches, batch_size))

    def device_rows(self, rows):
        """Rows ``rows`` as the learner's device columns (see sac.replay_columns)."""
        return {"observations": self.observations[rows], "actions": self.actions[rows],
                "rewards": self.rewards[rows], "next_observations": self.next_observations[rows],
                "terminals": self.terminals[rows].astype(np.float32)}

    def ordered(self):
        """All stored transitions, oldest first, as a dict of arrays (copies)."""
        if self.size < self.capacity:
            order = np.arange(self.size)
        else:
            order = (np.arange(self.capacity) + self.ptr) % self.capacity
        return {k: getattr(self, k)[order].copy() for k in self.FIELDS}

    def state_dict(self):
        d = self.ordered()
        d["capacity"] = np.int64(self.capacity)
        return d

    def load_state_dict(self, d):
        n = len(d["rewards"])
        if n > self.capacity:
            raise CheckpointError(f"replay buffer checkpoint holds {n} transitions, "
                                  f"more than the capacity {self.capacity}")
        for k in self.FIELDS:
            getattr(self, k)[:n] = d[k]
        self.size = n
        self.ptr = n % self.capacity


def dump_d4rl_npz(path, transitions, metadata):
    """Write D4RL-format arrays (observations, actions, rewards, next_observations,
    terminals, timeouts) plus a ``metadata`` JSON string to ``path`` (.npz).

    The last transition is marked as a timeout when its episode had not ended, so that
    splitting at ``terminals | timeouts`` yields whole (possibly cut) episodes.
    """
    t = {k: np.asarray(v) for k, v in transitions.items()}
    if len(t["terminals"]) and not (t["terminals"][-1] or t["timeouts"][-1]):
        t["timeouts"] = t["timeouts"].copy()
        t["timeouts"][-1] = True
    ckpt.save_arrays(path, {"metadata": np.array(json.dumps(metadata)), **t})


# ---------------------------------------------------------------------------------------
# Evaluation (NumPy policy, no MindSpore needed)
# ---------------------------------------------------------------------------------------
def make_env(env_id):
    import gymnasium as gym

    env = gym.make(env_id)
    space = env.action_space
    if not (np.allclose(space.low, -1.0) and np.allclose(space.high, 1.0)):
        raise ConfigError(f"SAC here expects actions in [-1, 1]; {env_id} has "
                          f"[{space.low}, {space.high}]")
    return env


def evaluate_policy(policy, env, episodes, deterministic=True, seed=0):
    """Returns and lengths of ``episodes`` episodes of ``policy`` (a NumpySACPolicy)."""
    rng = np.random.default_rng(seed)
    returns, lengths = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=int(seed) * 1000 + ep)
        total, n, done = 0.0, 0, False
        while not done:
            act = policy(obs, deterministic=deterministic, rng=rng)
            obs, rew, term, trunc, _ = env.step(act)
            total += float(rew)
            n += 1
            done = term or trunc
        returns.append(total)
        lengths.append(n)
    return np.array(returns), np.array(lengths)


# ---------------------------------------------------------------------------------------
# Behaviour-policy files
# ---------------------------------------------------------------------------------------
def behaviour_metadata(env_name, level, stoch, det, weights, train_steps, seed, net_params,
                       gait_episodes=10):
    """Metadata of a behaviour-policy file: returns of the stochastic (``stoch``, the
    policy that generates datasets) and deterministic (``det``) evaluations, the gait of
    the stochastic policy (:func:`mindspore_rl_ext.envs.gait.gait_statistics`: forward
    velocity, episode length, fall rate), and the network description."""
    from mindspore_rl_ext.algorithms.sac.sac import NumpySACPolicy
    from mindspore_rl_ext.envs.gait import gait_statistics

    env_id = sac_config.ENV_PRESETS[env_name]["env_id"]
    policy = NumpySACPolicy(weights, net_params["log_std_min"], net_params["log_std_max"])
    rng = np.random.default_rng(seed + 50_000)
    gait = gait_statistics(env_id, lambda obs: policy(obs, deterministic=False, rng=rng),
                           gait_episodes, seed=50_000 + int(train_steps))
    return {
        "env_id": env_id,
        "level": level,
        "average_return": float(stoch.mean()),
        "std_return": float(stoch.std()),
        "normalized_score": float(sac_config.normalized_score(env_name, stoch.mean())),
        "deterministic_avg_return": float(det.mean()),
        "deterministic_normalized_score": float(sac_config.normalized_score(env_name,
                                                                            det.mean())),
        "return_mode": "average_return is of the stochastic policy (as used to generate "
                       "datasets); deterministic_* of tanh(mean)",
        "eval_episodes": int(len(stoch)),
        "gait": gait,
        "train_steps": int(train_steps),
        "seed": int(seed),
        "algorithm": ALGORITHM_NAME,
        "obs_dim": int(policy.obs_dim),
        "act_dim": int(policy.act_dim),
        "hidden_dims": list(net_params["hidden_dims"]),
        "activation": "relu",
        "log_std_min": float(net_params["log_std_min"]),
        "log_std_max": float(net_params["log_std_max"]),
        "action": "tanh(mean + exp(clip(log_std, log_std_min, log_std_max)) * N(0, I)) "
                  "* action_high",
    }


def export_snapshot(env_name, snapshot, level, policy_dir, train_steps, seed, net_params,
                    episodes=10, selection=None):
    """Evaluate the policy weights in ``snapshot`` (a trainer's ``snapshots/step_N.npz``)
    over ``episodes`` stochastic and deterministic episodes, and write them as
    ``<policy_dir>/<env>_<level>.npz`` with their returns and gait in the metadata
    (``selection``: why this snapshot). Returns (path, metadata)."""
    from mindspore_rl_ext.algorithms.sac.sac import NumpySACPolicy

    with read_errors_as(CheckpointError, f"policy snapshot '{snapshot}' is truncated or "
                                         f"corrupt"), np.load(snapshot) as f:
        weights = {k: f[k] for k in f.files}
    policy = NumpySACPolicy(weights, net_params["log_std_min"], net_params["log_std_max"])
    env = make_env(sac_config.ENV_PRESETS[env_name]["env_id"])
    det, _ = evaluate_policy(policy, env, episodes, True, seed=30_000)
    stoch, _ = evaluate_policy(policy, env, episodes, False, seed=40_000)
    meta = behaviour_metadata(env_name, level, stoch, det, weights, train_steps, seed,
                              net_params)
    if selection:
        meta["selection"] = selection
    path = os.path.join(policy_dir, f"{env_name}_{level}.npz")
    save_behaviour_policy(path, weights, meta, env.action_space.high)
    env.close()
    return path, meta


def save_behaviour_policy(path, weights, metadata, action_high):
    """Write a behaviour policy in the format of mindspore_rl_ext.data.behaviour
    (trunk_w{i}/trunk_b{i}, mean_*, log_std_*, action_high, metadata_json), atomically."""
    from mindspore_rl_ext.data.behaviour import NumpyBehaviourPolicy

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arrays = {k: np.asarray(v, np.float32) for k, v in weights.items()}
    arrays["action_high"] = np.asarray(action_high, np.float32)
    tmp = f"{path}.tmp"
    NumpyBehaviourPolicy.save(tmp, arrays, metadata)
    os.replace(tmp, path)


def load_behaviour_policy(path):
    """A mindspore_rl_ext.data.behaviour.NumpyBehaviourPolicy read from ``path``."""
    from mindspore_rl_ext.data.behaviour import NumpyBehaviourPolicy

    return NumpyBehaviourPolicy.load(path)


# ---------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------
def default_config(env="hopper"):
    import copy

    cfg = {"algorithm_config": copy.deepcopy(sac_config.algorithm_config),
           "trainer_params": copy.deepcopy(sac_config.trainer_params)}
    cfg["trainer_params"]["env"] = env
    return cfg


class SACTrainer:
    """Online SAC on one Gymnasium MuJoCo env.

    work_dir: checkpoints, per-evaluation policy snapshots, eval_history.json.
    policy_dir: where <env>_medium.npz / <env>_expert.npz are written.
    replay_dump: optional path of the medium-replay .npz (written when medium is reached).
    """

    def __init__(self, config, work_dir, policy_dir, replay_dump=None, resume=True,
                 log=print):
        tp = config["trainer_params"]
        ac = config["algorithm_config"]
        self.env_name = tp["env"]
        if self.env_name not in sac_config.ENV_PRESETS:
            raise ConfigError(f"env '{self.env_name}' is not one of "
                              f"{sorted(sac_config.ENV_PRESETS)}")
        self.preset = sac_config.ENV_PRESETS[self.env_name]
        self.env_id = self.preset["env_id"]
        self.tp = dict(tp)
        self.band = tuple(tp["medium_band"] or self.preset["medium_band"])
        if not self.band[0] < self.band[1]:
            raise ConfigError(f"medium_band {self.band} must be (low, high) with low < high")
        self.expert_return = tp["expert_return"]
        self.work_dir, self.policy_dir, self.replay_dump = work_dir, policy_dir, replay_dump
        self.log = log
        os.makedirs(os.path.join(work_dir, "snapshots"), exist_ok=True)
        os.makedirs(os.path.join(work_dir, "ckpt"), exist_ok=True)

        import mindspore as ms

        from mindspore_rl_ext.algorithms.sac.sac import (NumpySACPolicy, SACLearner,
                                                         SACPolicyAndNetwork, policy_weights)
        self._ms = ms
        self._policy_weights = policy_weights
        ms.set_seed(int(tp["seed"]))
        self.env = make_env(self.env_id)
        self.eval_env = make_env(self.env_id)
        obs_dim = self.env.observation_space.shape[0]
        act_dim = self.env.action_space.shape[0]
        pn = ac["policy_and_network"]["params"]
        self.net_params = dict(pn)
        self.networks = SACPolicyAndNetwork(obs_dim, act_dim, **pn)
        rb = ac["replay_buffer"]
        self.learner = SACLearner(self.networks, int(rb["capacity"]), **ac["learner"]["params"])
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.batch_size = int(rb["batch_size"])
        self.buffer = ReplayBuffer(obs_dim, act_dim, int(rb["capacity"]))
        self.np_policy = NumpySACPolicy(policy_weights(self.networks.policy),
                                        pn["log_std_min"], pn["log_std_max"])
        self.rng = np.random.default_rng(int(tp["seed"]))
        self.step = 0
        self.episodes = 0
        self.history = []       # one dict per evaluation
        self.train_returns = []  # (env step, episode return)
        self.levels = {}        # level -> info dict once reached
        self.update_ms = []
        self.elapsed = 0.0
        if resume and os.path.exists(self._ckpt_path("state.json")):
            self._load_checkpoint()

    # -- checkpoint -----------------------------------------------------------------
    def _ckpt_path(self, name):
        return os.path.join(self.work_dir, "ckpt", name)

    def save_checkpoint(self):
        # the learner's state under Parameter.name, as ms.load_param_into_net matches it;
        # the device copy of the replay rows is left out (buffer.npz holds them)
        ckpt.save_params([(p.name, p) for _, p in trainable_state(self.learner)],
                         self._ckpt_path("learner.ckpt"))
        ckpt.save_arrays(self._ckpt_path("buffer.npz"), self.buffer.state_dict())
        state = {"step": self.step, "episodes": self.episodes, "history": self.history,
                 "train_returns": self.train_returns, "levels": self.levels,
                 "rng": self.rng.bit_generator.state, "elapsed": self.elapsed,
                 "buffer_size": self.buffer.size, "env": self.env_name}
        tmp = self._ckpt_path("state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self._ckpt_path("state.json"))

    def _load_checkpoint(self):
        ms = self._ms
        state = ckpt.read_json(self._ckpt_path("state.json"))
        if state.get("env") != self.env_name:
            raise CheckpointError(f"checkpoint in {self.work_dir} is for env "
                                  f"'{state.get('env')}', not '{self.env_name}'")
        learner_file = self._ckpt_path("learner.ckpt")
        with read_errors_as(CheckpointError, f"SAC learner checkpoint '{learner_file}' is "
                                             f"truncated or corrupt"):
            params = ms.load_checkpoint(learner_file, crc_check=True)
        not_loaded, _ = ms.load_param_into_net(self.learner, params, strict_load=True)
        not_loaded = [n for n in not_loaded if not n.startswith(DATASET_PREFIX)]
        if not_loaded:
            raise CheckpointError(f"learner checkpoint lacks parameters {not_loaded[:5]}")
        buffer_file = self._ckpt_path("buffer.npz")
        with read_errors_as(CheckpointError, f"SAC replay checkpoint '{buffer_file}' is "
                                             f"truncated or corrupt"), np.load(buffer_file) as f:
            self.buffer.load_state_dict({k: f[k] for k in ReplayBuffer.FIELDS})
        if self.buffer.size != state["buffer_size"]:
            raise CheckpointError("replay buffer checkpoint does not match state.json")
        rows = np.arange(self.buffer.size)
        self.learner.dataset.write_rows(rows, self.buffer.device_rows(rows))
        # the interrupted episode is abandoned: close it in the buffer
        if self.buffer.size:
            last = (self.buffer.ptr - 1) % self.buffer.capacity
            if not self.buffer.terminals[last]:
                self.buffer.timeouts[last] = True
        self.step, self.episodes = state["step"], state["episodes"]
        self.history, self.train_returns = state["history"], state["train_returns"]
        self.levels, self.elapsed = state["levels"], state["elapsed"]
        self.rng.bit_generator.state = state["rng"]
        self._refresh_policy()
        self.log(f"Resumed from {self.work_dir} at env step {self.step} "
                 f"(levels reached: {sorted(self.levels) or 'none'})")

    # -- helpers --------------------------------------------------------------------
    def _refresh_policy(self):
        self.np_policy.set_weights(self._policy_weights(self.networks.policy))

    def _metadata(self, level, stoch, det, weights=None):
        return behaviour_metadata(self.env_name, level, stoch, det,
                                  weights or self._policy_weights(self.networks.policy),
                                  int(self.step), int(self.tp["seed"]), self.net_params)

    def _confirm(self, n):
        det, _ = evaluate_policy(self.np_policy, self.eval_env, n, True, seed=10_000 + self.step)
        stoch, lens = evaluate_policy(self.np_policy, self.eval_env, n, False,
                                      seed=20_000 + self.step)
        return stoch, det, lens

    def _accept(self, level, stoch, det):
        meta = self._metadata(level, stoch, det)
        path = os.path.join(self.policy_dir, f"{self.env_name}_{level}.npz")
        save_behaviour_policy(path, self._policy_weights(self.networks.policy), meta,
                              self.env.action_space.high)
        self.levels[level] = {"step": self.step, "path": path, "avg_return": meta["average_return"],
                              "deterministic_avg_return": meta["deterministic_avg_return"],
                              "normalized_score": meta["normalized_score"]}
        self.log(f"Reached {level} at env step {self.step}: stochastic return "
                 f"{stoch.mean():.1f} +- {stoch.std():.1f} (normalised "
                 f"{meta['normalized_score']:.1f}), deterministic {det.mean():.1f}; wrote {path}")
        if level == "medium":
            self._dump_replay(self.step, meta["average_return"])

    def _dump_replay(self, medium_step, policy_avg_return):
        """Write the medium-replay file: the replay rows of env steps 1..medium_step.

        The buffer still holds env step 1 only while the run has not outgrown its capacity;
        once it has wrapped, the early rows (of an earlier fallback snapshot too) are gone."""
        if not self.replay_dump:
            return
        if self.step > self.buffer.capacity:
            self.log(f"No medium-replay dump: after {self.step} env steps the replay buffer "
                     f"(capacity {self.buffer.capacity}) no longer holds env steps "
                     f"1..{medium_step}")
            return
        rows = {k: v[:medium_step] for k, v in self.buffer.ordered().items()}
        rmeta = {"env_id": self.env_id, "kind": "medium-replay", "algorithm": ALGORITHM_NAME,
                 "seed": int(self.tp["seed"]), "train_env_steps": int(medium_step),
                 "learning_starts": int(self.tp["learning_starts"]),
                 "policy_avg_return": policy_avg_return}
        dump_d4rl_npz(self.replay_dump, rows, rmeta)
        self.levels["medium"]["replay_dump"] = self.replay_dump
        self.log(f"Dumped {len(rows['rewards'])} replay transitions to {self.replay_dump}")

    def _evaluate(self, stats):
        tp = self.tp
        det, lens = evaluate_policy(self.np_policy, self.eval_env, int(tp["eval_episodes"]),
                                    True, seed=self.step)
        rec = {"step": self.step, "det_return": float(det.mean()),
               "det_std": float(det.std()), "det_len": float(lens.mean()),
               "time_s": round(self.elapsed, 1)}
        if stats is not None:
            rec.update(stats)
        snap = os.path.join(self.work_dir, "snapshots", f"step_{self.step:07d}.npz")
        ckpt.save_arrays(snap, self._policy_weights(self.networks.policy))
        low, high = self.band
        confirm = None
        if (self.expert_return and "expert" not in self.levels
                and det.mean() >= self.expert_return):
            confirm = self._confirm(int(tp["confirm_episodes"]))
            if confirm[0].mean() >= self.expert_return:
                self._accept("expert", confirm[0], confirm[1])
        elif "medium" not in self.levels and det.mean() >= low:
            confirm = self._confirm(int(tp["confirm_episodes"]))
            if low <= confirm[0].mean() <= high:
                self._accept("medium", confirm[0], confirm[1])
        if confirm is not None:
            rec["confirm_stoch_return"] = float(confirm[0].mean())
            rec["confirm_det_return"] = float(confirm[1].mean())
        self.history.append(rec)
        with open(os.path.join(self.work_dir, "eval_history.json"), "w") as f:
            json.dump(self.history, f, indent=1)
        recent = [r for _, r in self.train_returns[-10:]]
        msg = (f"Step {self.step}: eval return {det.mean():.1f} +- {det.std():.1f} "
               f"(len {lens.mean():.0f}), train return (last 10) "
               f"{np.mean(recent) if recent else float('nan'):.1f}")
        if stats is not None:
            msg += (f", critic_loss {stats['critic_loss']:.3f}, actor_loss "
                    f"{stats['actor_loss']:.3f}, alpha {stats['alpha']:.4f}, entropy "
                    f"{stats['entropy']:.3f}, per_update_time {stats['ms_per_update']:.2f} ms")
        if confirm is not None:
            msg += (f", confirm {len(confirm[0])} ep: stochastic {confirm[0].mean():.1f}, "
                    f"deterministic {confirm[1].mean():.1f}")
        msg += f", elapsed {self.elapsed / 60:.1f} min"
        self.log(msg)

    def _done(self):
        """Expert reached (when asked for; a medium band overshot is filled in from the
        snapshots at the end), else medium reached with stop_at_medium."""
        if self.expert_return:
            return "expert" in self.levels
        return "medium" in self.levels and bool(self.tp["stop_at_medium"])

    # -- main loop ------------------------------------------------------------------
    def train(self):
        """Train until a stop condition; holds the writer lock of ``<work_dir>/ckpt``."""
        with CheckpointFolderLock(os.path.join(self.work_dir, "ckpt")):
            return self._train()

    def _train(self):
        tp = self.tp
        K = int(tp["steps_per_call"])
        max_steps = int(tp["max_env_steps"])
        learning_starts = int(tp["learning_starts"])
        eval_freq, ckpt_freq = int(tp["eval_freq"]), int(tp["ckpt_freq"])
        if eval_freq % K or ckpt_freq % K:
            raise ConfigError(f"eval_freq ({eval_freq}) and ckpt_freq ({ckpt_freq}) must be "
                              f"multiples of steps_per_call ({K})")
        obs, _ = self.env.reset(seed=int(tp["seed"]) * 7919 + self.step)
        ep_ret, ep_len = 0.0, 0
        acc, acc_n, acc_ms = np.zeros(5), 0, []
        t_last = time.time()
        while self.step < max_steps and not self._done():
            first_row = self.buffer.ptr
            for _ in range(K):
                if self.step < learning_starts:
                    act = self.rng.uniform(-1.0, 1.0, self.act_dim).astype(np.float32)
                else:
                    act = self.np_policy(obs, deterministic=False, rng=self.rng)
                next_obs, rew, term, trunc, _ = self.env.step(act)
                self.buffer.add(obs, act, rew, next_obs, term, trunc)
                self.step += 1
                ep_ret += float(rew)
                ep_len += 1
                if term or trunc:
                    self.train_returns.append((self.step, round(ep_ret, 2)))
                    self.episodes += 1
                    obs, _ = self.env.reset()
                    ep_ret, ep_len = 0.0, 0
                else:
                    obs = next_obs
            new_rows = (first_row + np.arange(K)) % self.buffer.capacity
            self.learner.dataset.write_rows(new_rows, self.buffer.device_rows(new_rows))
            if self.step >= learning_starts:
                idx = self.buffer.sample_indices(self.rng, K, self.batch_size)
                nn_ = self.rng.standard_normal((2, K, self.batch_size, self.act_dim),
                                               dtype=np.float32)
                t0 = time.perf_counter()
                stats = self.learner.train_steps(idx, extras=(nn_[0], nn_[1]))
                stats = np.array([stats[k] for k in self.learner.METRICS])
                acc_ms.append((time.perf_counter() - t0) * 1000.0 / K)
                if not np.all(np.isfinite(stats)):
                    raise TrainingDivergedError(f"SAC losses became {stats} at env step "
                                                f"{self.step}")
                acc[:4] += stats
                acc[4] += self.learner.alpha_value()
                acc_n += 1
                self._refresh_policy()
            now = time.time()
            self.elapsed += now - t_last
            t_last = now
            if self.step % eval_freq == 0:
                stats_d = None
                if acc_n:
                    m = acc / acc_n
                    # skip the first call (compilation) when there are others
                    ms_upd = float(np.median(acc_ms[1:] if len(acc_ms) > 1 else acc_ms))
                    stats_d = {"critic_loss": m[0], "actor_loss": m[1], "alpha_loss": m[2],
                               "entropy": m[3], "alpha": m[4], "ms_per_update": ms_upd}
                    self.update_ms.append(ms_upd)
                self._evaluate(stats_d)
                acc, acc_n, acc_ms = np.zeros(5), 0, []
                t_last = time.time()
            if self.step % ckpt_freq == 0 or self._done():
                self.save_checkpoint()
        self.save_checkpoint()
        if "medium" not in self.levels:
            self._fallback_medium()
        return self.levels

    def _fallback_medium(self):
        """No evaluation hit the band: export the snapshot whose confirmed stochastic
        return is closest to the medium target (marked in its metadata)."""
        target = self.tp["medium_target"] or self.preset["medium_target"]
        cands = [r for r in self.history if "confirm_stoch_return" in r]
        if not cands:
            self.log(f"Medium band {self.band} not reached in {self.step} env steps "
                     f"(best eval {max((r['det_return'] for r in self.history), default=0):.1f});"
                     " no medium policy exported")
            return
        best = min(cands, key=lambda r: abs(r["confirm_stoch_return"] - target))
        snap = os.path.join(self.work_dir, "snapshots", f"step_{best['step']:07d}.npz")
        path, meta = export_snapshot(
            self.env_name, snap, "medium", self.policy_dir, best["step"], int(self.tp["seed"]),
            self.net_params, int(self.tp["confirm_episodes"]),
            selection=(f"closest to target {target} (band {self.band} not hit); snapshot of "
                       f"env step {best['step']}"))
        self.levels["medium"] = {"step": best["step"], "path": path,
                                 "avg_return": meta["average_return"], "fallback": True}
        self.log(f"Medium band not hit; exported snapshot of step {best['step']} "
                 f"(stochastic {meta['average_return']:.1f}) to {path}")
        self._dump_replay(best["step"], meta["average_return"])
