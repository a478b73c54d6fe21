"""The 2-D bandit toy of the QG fork's ``bandit_toy.py`` on this package's compiled update.

One-step bandit: state 0, action in [-4.5, 4.5]^2, discount 0 (so Q = r), batch 256,
1000 steps per epoch; lr 3e-4, eta 3.0, gn 2.0; 300 epochs for 8gaussians, 200 for rings
and swissroll (``TOY_HYPERPARAMETERS``). ``train_toy`` trains (and always saves the final
model, so the evaluation that follows cannot crash as the reference's did without
``--save_best_model``); ``evaluate_toy`` loads a checkpoint and writes the plots:

* ``scatter-data_{env}.png``: the dataset coloured by reward (left: a uniform sample;
  right: resampled with p ~ softmax(beta r), as the reference drew it);
* ``scatter-action_{algo}_{model_id}.png``: left, Q(s=0, a) over the action plane (the
  reference called ``q_min(grid, zeros)``, i.e. state = grid and action = 0, and transposed
  the image; here the state is 0, the grid is the action, x is horizontal); right, 2000
  actions sampled from the actor, coloured by their reward. For ``bc`` (no critic) the
  left panel shows the true reward instead.
"""
import json
import os
import time

import numpy as np

from mindspore_rl_ext.algorithms.diffusion_ql.acting import (ActorSampler,
                                                             DiffusionActionSelector, QValue)
from mindspore_rl_ext.algorithms.diffusion_ql.diffusion_ql import (DiffusionQLLearner,
                                                                   DiffusionQLPolicyAndNetwork)
from mindspore_rl_ext.algorithms.diffusion_ql.hyperparams import TOY_HYPERPARAMETERS
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.envs.bandit_toy import (ACTION_DIM, MAX_ACTION, STATE_DIM, TOY_DATASETS,
                                              make_toy_dataset, reward_fn, support_mask)

N_PLOT = 2000
GRID = 90


def toy_config(env_name="8gaussians", algo="ql", T=5, beta_schedule="vp", lr_decay=False, ms="online",
               seed=0, exp="exp_1", beta=3.0, results_dir="results_toy", num_epochs=None,
               n_steps_per_episode=1000, eval_freq=50, batch_size=256, hidden_dim=256,
               dataset_size=1_000_000, save_best_model=False, lr_decay_mode="cosine",
               eta=None, lr=None, gn=None):
    if env_name not in TOY_DATASETS:
        raise ConfigError(f"--env_name '{env_name}' is not a toy dataset ({', '.join(TOY_DATASETS)})")
    hp = TOY_HYPERPARAMETERS[env_name]
    cfg = {
        "env_name": env_name, "algo": algo, "T": int(T), "beta_schedule": beta_schedule,
        "lr_decay": bool(lr_decay), "lr_decay_mode": lr_decay_mode, "ms": ms, "seed": int(seed),
        "exp": exp, "beta": float(beta), "results_dir": results_dir,
        "num_epochs": int(num_epochs or hp["num_epochs"]),
        "n_steps_per_episode": int(n_steps_per_episode), "eval_freq": int(eval_freq),
        "batch_size": int(batch_size), "hidden_dim": int(hidden_dim),
        "dataset_size": int(dataset_size), "save_best_model": bool(save_best_model),
        "lr": float(lr if lr is not None else hp["lr"]),
        "eta": float(eta if eta is not None else hp["eta"]),
        "gn": float(gn if gn is not None else hp["gn"]),
        "discount": 0.0, "tau": 0.005, "max_action": MAX_ACTION,
    }
    return cfg


def toy_results_dir(cfg):
    parts = [cfg["env_name"], f"beta-{cfg['beta']}", cfg["exp"], f"diffusion-{cfg['algo']}",
             f"T-{cfg['T']}"]
    if cfg["lr_decay"]:
        parts.append("lr_decay")
    parts += [f"ms-{cfg['ms']}", str(cfg["seed"])]
    return os.path.join(cfg["results_dir"], "__".join(parts))


class _ToyBuffer:
    def __init__(self, data, batch_size):
        self.data = data
        self.state_dim, self.action_dim = STATE_DIM, ACTION_DIM
        self.batch_size = batch_size
        self.rewards = data["rewards"]

    def __len__(self):
        return len(self.rewards)

    def arrays(self):
        return {k: self.data[k] for k in ("observations", "actions", "rewards",
                                          "next_observations", "terminals")}


class ToyRun:
    """Networks, learner and samplers of one toy run."""

    def __init__(self, cfg, data=None):
        import mindspore as ms

        ms.set_seed(cfg["seed"])
        self.cfg = cfg
        self.data = data if data is not None else make_toy_dataset(
            cfg["env_name"], cfg["dataset_size"], cfg["seed"])
        self.buffer = _ToyBuffer(self.data, cfg["batch_size"])
        self.pn = DiffusionQLPolicyAndNetwork(
            {"T": cfg["T"], "beta_schedule": cfg["beta_schedule"], "hidden_dim": cfg["hidden_dim"],
             "critic_hidden_dim": cfg["hidden_dim"], "max_action": cfg["max_action"],
             "algo": cfg["algo"]}, self.buffer)
        total = cfg["num_epochs"] * cfg["n_steps_per_episode"]
        params = dict(algo=cfg["algo"], discount=0.0, tau=cfg["tau"], eta=cfg["eta"], lr=cfg["lr"],
                      critic_lr=cfg["lr"], gn=cfg["gn"], max_q_backup=False,
                      lr_decay=cfg["lr_decay_mode"] if cfg["lr_decay"] else "none",
                      total_steps=total, steps_per_block=cfg["eval_freq"] * cfg["n_steps_per_episode"],
                      t_max=cfg["num_epochs"], seed=cfg["seed"])
        self.learner = DiffusionQLLearner(params, self.pn, self.buffer)
        nets = self.pn.nets
        self.sampler = ActorSampler(nets.actor)
        self.q = None if cfg["algo"] == "bc" else QValue(nets.critic)
        self.policy = DiffusionActionSelector(nets.actor, None if cfg["algo"] == "bc" else nets.critic_target,
                                              50, "softmax")
        self.reward = reward_fn(cfg["env_name"])

    def sample_actions(self, n=N_PLOT):
        import mindspore as ms

        return self.sampler(ms.Tensor(np.zeros((n, STATE_DIM), np.float32))).asnumpy()

    def policy_actions(self, n=N_PLOT):
        import mindspore as ms

        return self.policy(ms.Tensor(np.zeros((n, STATE_DIM), np.float32))).asnumpy()

    def q_grid(self, n=GRID):
        """(xs, ys, Q[y, x]) of Q(s=0, a=(x, y)) on an n x n grid over [-max, max]^2."""
        import mindspore as ms

        xs = np.linspace(-MAX_ACTION, MAX_ACTION, n, dtype=np.float32)
        gx, gy = np.meshgrid(xs, xs, indexing="xy")  # gx[j, i] = xs[i], gy[j, i] = xs[j]
        actions = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
        states = np.zeros_like(actions)
        q = self.q(ms.Tensor(states), ms.Tensor(actions)).asnumpy().reshape(n, n)
        return xs, xs, q

    def evaluate(self, n=N_PLOT, with_policy=True):
        """Mean reward of n raw actor samples and (with_policy) of n actions chosen as at
        evaluation (50 samples, softmax over min Q; one sample for bc)."""
        out = {"mean_reward_samples": float(self.reward(self.sample_actions(n)).mean()),
               "dataset_mean_reward": float(np.mean(self.data["rewards"]))}
        if with_policy:
            out["mean_reward_policy"] = float(self.reward(self.policy_actions(n)).mean())
        return out

    # ---- checkpoints: one folder per network, as the core runtime's
    def save(self, root, step):
        for name, cell in self.pn.networks().items():
            ckpt.save_params(ckpt.named_params(cell), ckpt.network_file(root, name, step))

    def load(self, root, step=None):
        names = list(self.pn.networks())
        steps = ckpt.network_steps(root, names)
        if not steps:
            raise CheckpointError(f"no toy checkpoint under '{root}' (train first: --mode train)")
        if step is None:
            step = steps[-1]
        elif step not in steps:
            raise CheckpointError(f"no checkpoint of episode {step} under '{root}' (have {steps})")
        for name, cell in self.pn.networks().items():
            path = ckpt.network_file(root, name, step)
            ckpt.assign_params(cell, ckpt.load_params(path), path)
        return step


def train_toy(cfg, log, data=None):
    """Train; log ``Episode N: ...`` lines; every eval_freq episodes log the mean reward of
    sampled actions and append to eval.npy; save the final model. Returns (run, summary)."""
    rdir = toy_results_dir(cfg)
    os.makedirs(rdir, exist_ok=True)
    with open(os.path.join(rdir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
    run = ToyRun(cfg, data)
    root = os.path.join(rdir, "ckpt")
    rows = []
    log.info(f"Bandit toy {cfg['env_name']}: algo {cfg['algo']}, T {cfg['T']}, "
             f"{cfg['num_epochs']} episodes x {cfg['n_steps_per_episode']} steps, results in {rdir}")
    for episode in range(1, cfg["num_epochs"] + 1):
        t0 = time.perf_counter()
        losses = run.learner.learn(cfg["n_steps_per_episode"])
        ms_step = (time.perf_counter() - t0) * 1000.0 / cfg["n_steps_per_episode"]
        parts = "".join(f"{k} is {v:.4g}, " for k, v in losses.items())
        log.info(f"Episode {episode}: {parts}per_step_time {ms_step:.3f} ms,")
        if not all(np.isfinite(v) for v in losses.values()):
            raise ConfigError(f"toy training diverged at episode {episode}: {losses}")
        if episode % cfg["eval_freq"] == 0 or episode == cfg["num_epochs"]:
            ev = run.evaluate()
            rows.append([losses["bc_loss"], losses["ql_loss"], losses["actor_loss"],
                         losses["critic_loss"], episode, ev["mean_reward_samples"],
                         ev["mean_reward_policy"]])
            np.save(os.path.join(rdir, "eval.npy"), np.asarray(rows))
            log.info(f"Evaluate for episode {episode} mean reward of sampled actions is "
                     f"{ev['mean_reward_samples']:.3f} (policy {ev['mean_reward_policy']:.3f}, "
                     f"dataset {ev['dataset_mean_reward']:.3f})")
            if cfg["save_best_model"]:
                run.save(root, episode)
    run.save(root, cfg["num_epochs"])
    return run, rdir


def evaluate_toy(cfg, log, run=None, model_id=None):
    """Load (unless ``run`` is given), evaluate and plot. Returns the summary dict."""
    rdir = toy_results_dir(cfg)
    if run is None:
        run = ToyRun(cfg)
        model_id = run.load(os.path.join(rdir, "ckpt"), model_id)
    elif model_id is None:
        model_id = cfg["num_epochs"]
    summary = run.evaluate()
    summary.update({"algo": cfg["algo"], "env_name": cfg["env_name"], "model_id": model_id})
    try:
        plots = plot_toy(run, cfg, rdir, model_id)
    except ImportError:
        plots = []
        log.info("matplotlib is not installed: no PNG plots (pip install matplotlib)")
    summary["plots"] = plots
    with open(os.path.join(rdir, f"summary_{model_id}.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    log.info(f"Evaluate result: mean reward of 2000 sampled actions is "
             f"{summary['mean_reward_samples']:.3f} (softmax-Q policy "
             f"{summary['mean_reward_policy']:.3f}, dataset {summary['dataset_mean_reward']:.3f}); "
             f"plots: {', '.join(plots) or 'none'}")
    return summary


def plot_toy(run, cfg, rdir, model_id):
    """Write the two PNGs; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env, lim = cfg["env_name"], MAX_ACTION
    rng = np.random.default_rng(cfg["seed"])
    acts, rew = run.data["actions"], run.data["rewards"]
    paths = []
    data_png = os.path.join(rdir, f"scatter-data_{env}.png")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    idx = rng.choice(len(acts), size=min(N_PLOT, len(acts)), replace=False)
    logits = cfg["beta"] * rew.astype(np.float64)
    p = np.exp(logits - logits.max())
    idx_w = rng.choice(len(acts), size=min(N_PLOT, len(acts)), replace=False, p=p / p.sum())
    for ax, ix, title in ((axes[0], idx, "dataset (uniform sample)"),
                          (axes[1], idx_w, f"dataset resampled ~ softmax({cfg['beta']} r)")):
        sc = ax.scatter(acts[ix, 0], acts[ix, 1], c=rew[ix], s=4, cmap="winter", vmin=rew.min(),
                        vmax=rew.max())
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(title)
        fig.colorbar(sc, ax=ax, label="reward")
    fig.suptitle(f"{env}: {len(acts)} transitions, mean reward {rew.mean():.3f}")
    fig.savefig(data_png, dpi=90, bbox_inches="tight")
    plt.close(fig)
    paths.append(data_png)

    act_png = os.path.join(rdir, f"scatter-action_{cfg['algo']}_{model_id}.png")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    if run.q is not None:
        xs, ys, q = run.q_grid()
        title = "Q(s=0, a) of the trained critic"
    else:
        xs = ys = np.linspace(-lim, lim, GRID)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
        q = np.where(support_mask(env, grid), run.reward(grid), np.nan).reshape(GRID, GRID)
        title = "true reward on the data (bc: no critic)"
    im = axes[0].imshow(q, origin="lower", extent=[xs[0], xs[-1], ys[0], ys[-1]], cmap="viridis",
                        aspect="equal")
    axes[0].set_title(title)
    fig.colorbar(im, ax=axes[0])
    sampled = run.sample_actions(N_PLOT)
    r_s = run.reward(sampled)
    sc = axes[1].scatter(sampled[:, 0], sampled[:, 1], c=r_s, s=4, cmap="winter",
                         vmin=rew.min(), vmax=rew.max())
    axes[1].set_xlim(-lim, lim)
    axes[1].set_ylim(-lim, lim)
    axes[1].set_aspect("equal")
    axes[1].set_title(f"{N_PLOT} {cfg['algo']} samples, mean reward {r_s.mean():.3f}")
    fig.colorbar(sc, ax=axes[1], label="reward")
    fig.suptitle(f"{env}, diffusion-{cfg['algo']}, T={cfg['T']}, episode {model_id}")
    fig.savefig(act_png, dpi=90, bbox_inches="tight")
    plt.close(fig)
    paths.append(act_png)
    return paths
