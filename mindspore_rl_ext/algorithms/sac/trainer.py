"""SACTrainer: online SAC as a core.Trainer. One training episode is one compiled call:
step the environment ``steps_per_call`` (K) times with the current policy (a NumPy copy;
uniform random actions before ``learning_starts``), write the K new rows to the device
replay, then run K SAC updates on K batches drawn on the host.

Every ``eval_freq`` env steps the deterministic policy is evaluated; when it reaches the
medium band, the stochastic policy (the one that generates datasets) is confirmed over
``confirm_episodes`` episodes and, if its average return lies in the band, exported as
``<env>_medium.npz`` -- and the replay rows so far are dumped as a D4RL-like
medium-replay file when a path for it was given.

Checkpoints (core.checkpoint, every ``ckpt_freq`` env steps) hold everything the next
step depends on: networks, targets, Adam moments and log-alpha (the update cell), the
replay rows in their slots and the write position, the host RNG, the environment's
MuJoCo state, time-limit count and reset RNG, and the running episode's return and
length; a resumed run continues bit-exactly as if never stopped. A checkpoint carried
without its replay rows (``carry.py``) resumes by refilling the buffer first.
"""
import json
import os
import time

import numpy as np

from mindspore_rl_ext.algorithms.sac.config import ENV_PRESETS
from mindspore_rl_ext.algorithms.sac.sac import policy_weights
from mindspore_rl_ext.algorithms.sac.export import (ALGORITHM_NAME, behaviour_metadata,
                                                    export_snapshot, save_behaviour_policy)
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError, TrainingDivergedError
from mindspore_rl_ext.core.trainer import Trainer
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX
from mindspore_rl_ext.data.replay_buffer import dump_d4rl_npz
from mindspore_rl_ext.data.scores import normalized_score

# files of the checkpoint format before SACTrainer was a core.Trainer
OLD_FORMAT_FILES = ("state.json", "learner.ckpt", "buffer.npz")
STAT_KEYS = ("critic_loss", "actor_loss", "alpha_loss", "entropy", "alpha")


class SACTrainer(Trainer):
    """``params``: the config's trainer_params plus ``env``, ``seed``, ``work_dir``
    (checkpoints in ``<work_dir>/ckpt``, policy snapshots, eval_history.json) and
    ``ckpt_path``; ``policy_dir``: where <env>_medium.npz / <env>_expert.npz go;
    ``replay_dump``: optional path of the medium-replay .npz."""

    def __init__(self, msrl, params, log, config, policy_dir, replay_dump=None):
        super().__init__(msrl, params, log)
        self.config = config
        self.env_name, self.seed = params["env"], int(params["seed"])
        self.env_id = ENV_PRESETS[self.env_name]["env_id"]
        self.band = tuple(params["medium_band"])
        self.expert_return = params["expert_return"]
        self.work_dir, self.policy_dir, self.replay_dump = (params["work_dir"], policy_dir,
                                                            replay_dump)
        os.makedirs(os.path.join(self.work_dir, "snapshots"), exist_ok=True)
        self.env, self.buffer = msrl.collect_environment, msrl.replay_buffer
        self.learner, self.actor = msrl.learner, msrl.actor
        self.networks = msrl.policy_and_network
        self.rng = np.random.default_rng(self.seed)
        self.step = 0            # env steps taken
        self.env_episodes = 0    # env episodes completed
        self.obs, self.ep_ret, self.ep_len = None, 0.0, 0  # the running env episode
        self.acc, self.acc_n, self.acc_ms = np.zeros(len(STAT_KEYS)), 0, []
        self.history = []        # one dict per evaluation
        self.train_returns = []  # (env step, episode return)
        self.levels = {}         # level -> info dict once reached
        self.update_ms = []
        self.elapsed = 0.0
        self.refill_left = 0         # env steps to refill after resuming a carried checkpoint
        self.refill_env_steps = 0    # refill env steps taken so far (not counted in step)

    # -- core.Trainer ---------------------------------------------------------------
    def trainable_variables(self):
        nets = self.networks
        return {"policy": nets.policy, "q1": nets.q1, "q2": nets.q2}

    def resume_cell(self):
        return self.learner.update, DATASET_PREFIX

    def fingerprint(self):
        p = self.params
        return {"env": self.env_name, "hidden_dims": list(self.networks.hidden_dims),
                "steps_per_call": p["steps_per_call"], "capacity": self.buffer.capacity}

    def host_state(self):
        state = {"step": self.step, "env_episodes": self.env_episodes,
                 "history": self.history, "train_returns": self.train_returns,
                 "levels": self.levels, "rng": self.rng.bit_generator.state,
                 "elapsed": self.elapsed, "update_ms": self.update_ms,
                 "episode_return": self.ep_ret, "episode_length": self.ep_len,
                 "stats_sum": self.acc.tolist(), "stats_calls": self.acc_n,
                 "refill_env_steps": self.refill_env_steps,
                 "obs": np.asarray(self.obs, np.float64)}
        env = self.env.get_state()
        state.update(env_physics=env.pop("physics"), env=env)
        state.update(self.buffer.state())
        return state

    def load_host_state(self, state):
        self.buffer.load_state(state)
        self.learner.write_rows(np.arange(self.buffer.size))
        self.refill_left = (min(int(self.params["refill_steps"]), self.buffer.capacity)
                            if state.get("replay_dropped") else 0)
        self.refill_env_steps = state.get("refill_env_steps", 0)
        self.env.set_state(dict(state["env"], physics=state["env_physics"]))
        self.obs = state["obs"]
        self.step, self.env_episodes = state["step"], state["env_episodes"]
        self.history, self.train_returns = state["history"], state["train_returns"]
        self.levels, self.elapsed = state["levels"], state["elapsed"]
        self.update_ms = state["update_ms"]
        self.ep_ret, self.ep_len = state["episode_return"], state["episode_length"]
        self.acc, self.acc_n = np.asarray(state["stats_sum"]), state["stats_calls"]
        self.rng.bit_generator.state = state["rng"]
        self.actor.refresh()

    def restore(self):
        """Resume from ``<work_dir>/ckpt``; CheckpointError for the old SAC format."""
        old = [f for f in OLD_FORMAT_FILES if os.path.exists(os.path.join(self.ckpt_root, f))]
        if old:
            raise CheckpointError(
                f"checkpoint folder '{self.ckpt_root}' holds a checkpoint of the old SAC "
                f"format ({', '.join(old)}), which this version cannot resume; finish that "
                f"run with the code that wrote it, or start over with --fresh (or another "
                f"--work-dir)")
        episode = super().restore()
        if episode:
            self.log.info(f"Resumed SAC at env step {self.step} "
                          f"(levels reached: {sorted(self.levels) or 'none'})")
        return episode

    def finished(self):
        """Expert reached (when asked for; a medium band overshot is filled in from the
        snapshots at the end), else medium reached with stop_at_medium."""
        if self.expert_return:
            return "expert" in self.levels
        return "medium" in self.levels and bool(self.params["stop_at_medium"])

    def train(self, episodes, callbacks, resume=True):
        """Train; then, when no evaluation hit the medium band, export the closest one."""
        result = super().train(episodes, callbacks, resume)
        if "medium" not in self.levels:
            self._fallback_medium()
        return result

    def evaluate(self):
        """(mean deterministic return over eval_episodes, D4RL normalised score)."""
        det, _ = self.actor.act(int(self.params["eval_episodes"]), True, seed=self.step)
        return float(det.mean()), normalized_score(self.env_name, det.mean())

    # -- one episode: K env steps, K updates ----------------------------------------
    def train_one_episode(self):
        p = self.params
        k = int(p["steps_per_call"])
        t_start = time.time()
        if self.obs is None:
            self.obs, _ = self.env.reset(seed=self.seed * 7919 + self.step)
        if self.refill_left:
            self._refill()
        first_row = self.buffer.ptr
        for _ in range(k):
            self._env_step(self.step < int(p["learning_starts"]))
        self.learner.write_rows((first_row + np.arange(k)) % self.buffer.capacity)
        stats = {}
        if self.step >= int(p["learning_starts"]):
            stats = self._update(k)
        self.elapsed += time.time() - t_start
        if self.step % int(p["eval_freq"]) == 0:
            self._evaluate_and_log()
        return stats

    def _refill(self):
        """Refill the empty buffer of a carried checkpoint: ``refill_left`` env steps of the
        current stochastic policy, no updates, not counted in ``step``."""
        n, first_row = self.refill_left, self.buffer.ptr
        for _ in range(n):
            self._env_step(False, refill=True)
        self.learner.write_rows((first_row + np.arange(n)) % self.buffer.capacity)
        self.refill_left = 0
        self.refill_env_steps += n
        self.log.info(f"Refilled the replay buffer of the carried checkpoint with {n} env "
                      f"steps of the current stochastic policy (env step {self.step})")

    def _env_step(self, random_action, refill=False):
        if random_action:
            act = self.rng.uniform(-1.0, 1.0, self.buffer.action_dim).astype(np.float32)
        else:
            act = self.actor.get_action(self.obs, deterministic=False, rng=self.rng)
        next_obs, rew, term, trunc, _ = self.env.step(act)
        self.buffer.add(self.obs, act, rew, next_obs, term, trunc)
        if not refill:
            self.step += 1
        self.ep_ret += float(rew)
        self.ep_len += 1
        if term or trunc:
            if not refill:
                self.train_returns.append((self.step, round(self.ep_ret, 2)))
            self.env_episodes += 1
            self.obs, _ = self.env.reset()
            self.ep_ret, self.ep_len = 0.0, 0
        else:
            self.obs = next_obs

    def _update(self, k):
        idx = self.buffer.sample_indices(self.rng, k, self.buffer.batch_size)
        noise = self.rng.standard_normal((2, k, self.buffer.batch_size,
                                          self.buffer.action_dim), dtype=np.float32)
        t0 = time.perf_counter()
        stats = self.learner.learn(idx, noise)
        self.acc_ms.append((time.perf_counter() - t0) * 1000.0 / k)
        values = np.array([stats[key] for key in STAT_KEYS])
        if not np.all(np.isfinite(values[:4])):
            raise TrainingDivergedError(f"SAC losses became {values[:4]} at env step "
                                        f"{self.step}")
        self.acc += values
        self.acc_n += 1
        self.actor.refresh()
        return stats

    # -- evaluation, levels, exports --------------------------------------------------
    def _confirm(self, n):
        det, _ = self.actor.act(n, True, seed=10_000 + self.step)
        stoch, lens = self.actor.act(n, False, seed=20_000 + self.step)
        return stoch, det, lens

    def _weights(self):
        return policy_weights(self.networks.policy)

    def _accept(self, level, stoch, det):
        weights = self._weights()
        meta = behaviour_metadata(self.env_name, level, stoch, det, weights, self.step,
                                  self.seed, self.config["policy_params"])
        path = os.path.join(self.policy_dir, f"{self.env_name}_{level}.npz")
        save_behaviour_policy(path, weights, meta, self.env.action_space.high)
        self.levels[level] = {"step": self.step, "path": path, "avg_return": meta["average_return"],
                              "deterministic_avg_return": meta["deterministic_avg_return"],
                              "normalized_score": meta["normalized_score"]}
        self.log.info(f"Reached {level} at env step {self.step}: stochastic return "
                      f"{stoch.mean():.1f} +- {stoch.std():.1f} (normalised "
                      f"{meta['normalized_score']:.1f}), deterministic {det.mean():.1f}; "
                      f"wrote {path}")
        if level == "medium":
            self._dump_replay(self.step, meta["average_return"])

    def _dump_replay(self, medium_step, policy_avg_return):
        """Write the medium-replay file: the replay rows of env steps 1..medium_step.

        The buffer still holds env step 1 only while the run has not outgrown its capacity
        and was never carried; once it has wrapped, the early rows (of an earlier fallback
        snapshot too) are gone."""
        if not self.replay_dump:
            return
        if self.refill_env_steps:
            self.log.info(f"No medium-replay dump: the run was carried (carry.py), so its "
                          f"replay buffer holds refill steps, not env steps 1..{medium_step}")
            return
        if self.step > self.buffer.capacity:
            self.log.info(f"No medium-replay dump: after {self.step} env steps the replay "
                          f"buffer (capacity {self.buffer.capacity}) no longer holds env "
                          f"steps 1..{medium_step}")
            return
        rows = {k: v[:medium_step] for k, v in self.buffer.ordered().items()}
        rmeta = {"env_id": self.env_id, "kind": "medium-replay", "algorithm": ALGORITHM_NAME,
                 "seed": self.seed, "train_env_steps": int(medium_step),
                 "learning_starts": int(self.params["learning_starts"]),
                 "policy_avg_return": policy_avg_return}
        dump_d4rl_npz(self.replay_dump, rows, rmeta)
        self.levels["medium"]["replay_dump"] = self.replay_dump
        self.log.info(f"Dumped {len(rows['rewards'])} replay transitions to {self.replay_dump}")

    def _snapshot_path(self, step):
        return os.path.join(self.work_dir, "snapshots", f"step_{step:07d}.npz")

    def _mean_stats(self):
        """The mean losses, alpha and per-update time since the last evaluation."""
        if not self.acc_n:
            return None
        m = self.acc / self.acc_n
        # skip the first call (compilation) when there are others
        times = self.acc_ms[1:] if len(self.acc_ms) > 1 else self.acc_ms
        ms_upd = float(np.median(times)) if times else float("nan")
        self.update_ms.append(ms_upd)
        return {**dict(zip(STAT_KEYS, m.tolist())), "ms_per_update": ms_upd}

    def _evaluate_and_log(self):
        stats = self._mean_stats()
        self.acc, self.acc_n, self.acc_ms = np.zeros(len(STAT_KEYS)), 0, []
        det, lens = self.actor.act(int(self.params["eval_episodes"]), True, seed=self.step)
        rec = {"step": self.step, "det_return": float(det.mean()),
               "det_std": float(det.std()), "det_len": float(lens.mean()),
               "time_s": round(self.elapsed, 1)}
        if stats is not None:
            rec.update(stats)
        ckpt.save_arrays(self._snapshot_path(self.step), self._weights())
        low, high = self.band
        confirm = None
        if (self.expert_return and "expert" not in self.levels
                and det.mean() >= self.expert_return):
            confirm = self._confirm(int(self.params["confirm_episodes"]))
            if confirm[0].mean() >= self.expert_return:
                self._accept("expert", confirm[0], confirm[1])
        elif "medium" not in self.levels and det.mean() >= low:
            confirm = self._confirm(int(self.params["confirm_episodes"]))
            if low <= confirm[0].mean() <= high:
                self._accept("medium", confirm[0], confirm[1])
        if confirm is not None:
            rec["confirm_stoch_return"] = float(confirm[0].mean())
            rec["confirm_det_return"] = float(confirm[1].mean())
        self.history.append(rec)
        with open(os.path.join(self.work_dir, "eval_history.json"), "w") as f:
            json.dump(self.history, f, indent=1)
        self.log.info(self._eval_line(det, lens, stats, confirm))

    def _eval_line(self, det, lens, stats, confirm):
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
        return msg + f", elapsed {self.elapsed / 60:.1f} min"

    def _fallback_medium(self):
        """No evaluation hit the band: export the snapshot whose confirmed stochastic
        return is closest to the medium target (marked in its metadata)."""
        target = self.params["medium_target"]
        cands = [r for r in self.history if "confirm_stoch_return" in r
                 and os.path.isfile(self._snapshot_path(r["step"]))]  # a carry has none
        if not cands:
            self.log.info(f"Medium band {self.band} not reached in {self.step} env steps "
                          f"(best eval "
                          f"{max((r['det_return'] for r in self.history), default=0):.1f}); "
                          f"no medium policy exported")
            return
        best = min(cands, key=lambda r: abs(r["confirm_stoch_return"] - target))
        snap = self._snapshot_path(best["step"])
        path, meta = export_snapshot(
            self.env_name, snap, "medium", self.policy_dir, best["step"], self.seed,
            self.config["policy_params"], int(self.params["confirm_episodes"]),
            selection=(f"closest to target {target} (band {self.band} not hit); snapshot of "
                       f"env step {best['step']}"))
        self.levels["medium"] = {"step": best["step"], "path": path,
                                 "avg_return": meta["average_return"], "fallback": True}
        self.log.info(f"Medium band not hit; exported snapshot of step {best['step']} "
                      f"(stochastic {meta['average_return']:.1f}) to {path}")
        self._dump_replay(best["step"], meta["average_return"])
