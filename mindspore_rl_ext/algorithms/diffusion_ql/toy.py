"""The 2-D bandit toy of the QG fork's ``bandit_toy.py`` (DarthUtopian/Online-Adaptive-Diffusion-Policies)
run by the Diffusion-QL Session.

One-step bandit: state 0, action in [-4.5, 4.5]^2, discount 0 (so Q = r), batch 256,
1000 steps per episode; lr 3e-4, eta 3.0, gn 2.0; 300 episodes for 8gaussians, 200 for
rings and swissroll (the toy rows of ``hyperparams.py``). ``toy_config`` is Diffusion-QL's
``load_config`` with the toy's defaults; the Session builds the toy's replay buffer and
bandit environment from ``env_name`` (``config.algorithm_config``), so training, evaluation
(``Evaluate for episode N total rewards is R``: R the mean reward of the actions the
evaluation rule picks), model selection and checkpoints (``core.checkpoint``, with resume)
are Diffusion-QL's. ``evaluate_toy`` loads a checkpoint and writes the plots:

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

import numpy as np

from mindspore_rl_ext.algorithms.diffusion_ql.acting import ActorSampler, QValue
from mindspore_rl_ext.algorithms.diffusion_ql.config import DEFAULT_CONFIG, load_config
from mindspore_rl_ext.algorithms.diffusion_ql.session import DiffusionQLSession, results_dir
from mindspore_rl_ext.algorithms.diffusion_ql.trainer import DiffusionQLTrainer
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.config import merge_strict
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError
from mindspore_rl_ext.envs.bandit_toy import (MAX_ACTION, STATE_DIM, TOY_DATASETS,
                                              support_mask)

N_PLOT = 2000
GRID = 90


def toy_defaults(env_name):
    """DEFAULT_CONFIG with the toy's settings: its dataset, discount 0, max_action 4.5,
    results under results_toy/, and 2000 actions per evaluation."""
    if env_name not in TOY_DATASETS:
        raise ConfigError(f"--env_name '{env_name}' is not a toy dataset ({', '.join(TOY_DATASETS)})")
    return merge_strict(DEFAULT_CONFIG, {
        "env_name": env_name, "dataset_params": {"dataset": env_name},
        "policy_params": {"max_action": MAX_ACTION}, "learner_params": {"discount": 0.0},
        "trainer_params": {"results_dir": "results_toy", "num_evaluate_episode": N_PLOT}},
        "bandit toy")


def toy_config(env_name="8gaussians", overrides=None, env_yaml=None, algo_yaml=None):
    """The resolved Diffusion-QL config of the toy ``env_name``: toy defaults <- ENV_YAML
    <- ALGO_YAML <- overrides."""
    return load_config(env_yaml, algo_yaml, overrides, defaults=toy_defaults(env_name))


class BanditToy:
    """A toy run's plots and measures, read from the Session's components (``msrl``)."""

    def __init__(self, msrl, config):
        self.msrl = msrl
        self.config = config
        nets = msrl.policy_and_network.nets
        self.sampler = ActorSampler(nets.actor)
        self.q = None if config["algo"] == "bc" else QValue(nets.critic)
        self.reward = msrl.eval_environment.reward
        self.data = msrl.replay_buffer.arrays()

    def sample_actions(self, n=N_PLOT):
        """n raw actor samples at state 0."""
        import mindspore as ms

        return self.sampler(ms.Tensor(np.zeros((n, STATE_DIM), np.float32))).asnumpy()

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
        """Mean reward of n raw actor samples and (with_policy) of n actions chosen by the
        Session's actor, as at evaluation (50 samples, softmax over min Q; one for bc)."""
        out = {"mean_reward_samples": float(self.reward(self.sample_actions(n)).mean()),
               "dataset_mean_reward": float(np.mean(self.data["rewards"]))}
        if with_policy:
            out["mean_reward_policy"] = float(np.mean(self.msrl.actor.act(n)))
        return out


def build_toy(config, log=None):
    """A fresh (untrained) toy run: the Session's components, seeded as in training."""
    return BanditToy(DiffusionQLSession(log, config).build(), config)


def train_toy(config, log, resume=True):
    """Train through the Diffusion-QL Session (resuming from ``<results>/ckpt`` unless
    ``resume`` is False). Returns (toy, episodes trained)."""
    trainer = DiffusionQLSession(log, config).train(resume=resume)
    return BanditToy(trainer.msrl, config), trainer.episode


def load_toy(config, log, model_id=None):
    """The toy run of the checkpoint of episode ``model_id`` (None: the newest) under
    ``<results>/ckpt``. Returns (toy, episode)."""
    session = DiffusionQLSession(log, config)
    msrl = session.build()
    trainer = session.make_trainer(msrl, DiffusionQLTrainer)
    root = session.params["ckpt_path"]
    steps = ckpt.network_steps(root, list(trainer.trainable_variables()))
    if not steps:
        raise CheckpointError(f"no toy checkpoint under '{root}' (train first: --mode train)")
    if model_id is not None and model_id not in steps:
        raise CheckpointError(f"no checkpoint of episode {model_id} under '{root}' (have {steps})")
    step = trainer.load_networks(
        ckpt.network_file(root, "actor", steps[-1] if model_id is None else model_id))
    return BanditToy(msrl, config), step


def evaluate_toy(config, log, toy=None, model_id=None, beta=3.0):
    """Evaluate and plot ``toy`` (trained to episode ``model_id``), or load the checkpoint
    ``model_id`` first when ``toy`` is None. ``beta``: softmax temperature of the data
    plot. Returns the summary dict (also ``summary_<model_id>.json``)."""
    rdir = results_dir(config)
    if toy is None:
        toy, model_id = load_toy(config, log, model_id)
    summary = toy.evaluate()
    summary.update({"algo": config["algo"], "env_name": config["env_name"], "model_id": model_id})
    try:
        plots = plot_toy(toy, config, rdir, model_id, beta)
    except ImportError:
        plots = []
        log.info("matplotlib is not installed: no PNG plots (pip install matplotlib)")
    summary["plots"] = plots
    with open(os.path.join(rdir, f"summary_{model_id}.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    log.info(f"Evaluate result: mean reward of {N_PLOT} sampled actions is "
             f"{summary['mean_reward_samples']:.3f} (softmax-Q policy "
             f"{summary['mean_reward_policy']:.3f}, dataset {summary['dataset_mean_reward']:.3f}); "
             f"plots: {', '.join(plots) or 'none'}")
    return summary


def plot_toy(toy, config, rdir, model_id, beta=3.0):
    """Write the two PNGs; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env, lim = config["env_name"], MAX_ACTION
    rng = np.random.default_rng(config["seed"])
    acts, rew = toy.data["actions"], toy.data["rewards"]
    paths = []
    data_png = os.path.join(rdir, f"scatter-data_{env}.png")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    idx = rng.choice(len(acts), size=min(N_PLOT, len(acts)), replace=False)
    logits = beta * rew.astype(np.float64)
    p = np.exp(logits - logits.max())
    idx_w = rng.choice(len(acts), size=min(N_PLOT, len(acts)), replace=False, p=p / p.sum())
    for ax, ix, title in ((axes[0], idx, "dataset (uniform sample)"),
                          (axes[1], idx_w, f"dataset resampled ~ softmax({beta} r)")):
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

    act_png = os.path.join(rdir, f"scatter-action_{config['algo']}_{model_id}.png")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    if toy.q is not None:
        xs, ys, q = toy.q_grid()
        title = "Q(s=0, a) of the trained critic"
    else:
        xs = ys = np.linspace(-lim, lim, GRID)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
        q = np.where(support_mask(env, grid), toy.reward(grid), np.nan).reshape(GRID, GRID)
        title = "true reward on the data (bc: no critic)"
    im = axes[0].imshow(q, origin="lower", extent=[xs[0], xs[-1], ys[0], ys[-1]], cmap="viridis",
                        aspect="equal")
    axes[0].set_title(title)
    fig.colorbar(im, ax=axes[0])
    sampled = toy.sample_actions(N_PLOT)
    r_s = toy.reward(sampled)
    sc = axes[1].scatter(sampled[:, 0], sampled[:, 1], c=r_s, s=4, cmap="winter",
                         vmin=rew.min(), vmax=rew.max())
    axes[1].set_xlim(-lim, lim)
    axes[1].set_ylim(-lim, lim)
    axes[1].set_aspect("equal")
    axes[1].set_title(f"{N_PLOT} {config['algo']} samples, mean reward {r_s.mean():.3f}")
    fig.colorbar(sc, ax=axes[1], label="reward")
    fig.suptitle(f"{env}, diffusion-{config['algo']}, T={config['policy_params']['T']}, episode {model_id}")
    fig.savefig(act_png, dpi=90, bbox_inches="tight")
    plt.close(fig)
    paths.append(act_png)
    return paths
