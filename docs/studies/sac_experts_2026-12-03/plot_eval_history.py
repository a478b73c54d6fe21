"""Plot the SAC runs' evaluation curves (eval_history.json of each run: 5 deterministic
episodes every 5k env steps) against the expert thresholds of issue 11 (75% of D4RL's
reference max return) and the medium bands:

    python docs/studies/sac_experts_2026-12-03/plot_eval_history.py
"""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mindspore_rl_ext.algorithms.sac.config import ENV_PRESETS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = {"walker2d": 3450.0, "halfcheetah": 9100.0}  # env -> the expert threshold


def main():
    fig, axes = plt.subplots(1, len(RUNS), figsize=(10, 3.5))
    for ax, (env, expert) in zip(axes, RUNS.items()):
        with open(os.path.join(HERE, f"sac_{env}_s1_eval_history.json")) as f:
            history = json.load(f)
        steps = [r["step"] for r in history]
        ax.plot(steps, [r["det_return"] for r in history], label="deterministic eval (5 ep)")
        low, high = ENV_PRESETS[env]["medium_band"]
        ax.axhspan(low, high, color="grey", alpha=0.2, label="medium band")
        ax.axhline(expert, color="black", linestyle="--", label="expert: 75% of D4RL max")
        ax.set_title(f"SAC {env}, seed 1")
        ax.set_xlabel("env step")
        ax.set_ylabel("return")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "eval_history.png"), dpi=100)


if __name__ == "__main__":
    main()
