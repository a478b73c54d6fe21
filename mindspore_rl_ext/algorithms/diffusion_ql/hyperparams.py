"""Per-dataset hyperparameters of Diffusion-QL (the hard-coded ``hyperparameters`` table of
``main.py`` in Zhendong-Wang/Diffusion-Policies-for-Offline-RL; Wang et al. 2023, Diffusion
Policies as an Expressive Policy Class for Offline RL) and of the 2-D bandit toy
(``bandit_toy.py`` of the Q-guided (QG) fork, DarthUtopian/Online-Adaptive-Diffusion-Policies).

``reward_tune`` values are names of the shared reward-transform registry
(``mindspore_rl_ext.data.transforms``): the reference's ``no`` is written ``none`` here.

Dataset names are D4RL ids; lookups also accept Gymnasium/Minari-style names by matching
the task family and quality ("hopper-medium-v2" <- "Hopper-v5 medium", "mujoco/hopper/medium-v0").
"""
import re

from mindspore_rl_ext.data.default_dataset import DEFAULT_DATASET_ID

# dataset: (lr, eta, max_q_backup, reward_tune, num_epochs, gn, top_k)
_TABLE = {
    "halfcheetah-medium-v2": (3e-4, 1.0, False, "none", 2000, 9.0, 1),
    "hopper-medium-v2": (3e-4, 1.0, False, "none", 2000, 9.0, 2),
    "walker2d-medium-v2": (3e-4, 1.0, False, "none", 2000, 1.0, 1),
    "halfcheetah-medium-replay-v2": (3e-4, 1.0, False, "none", 2000, 2.0, 0),
    "hopper-medium-replay-v2": (3e-4, 1.0, False, "none", 2000, 4.0, 2),
    "walker2d-medium-replay-v2": (3e-4, 1.0, False, "none", 2000, 4.0, 1),
    "halfcheetah-medium-expert-v2": (3e-4, 1.0, False, "none", 2000, 7.0, 0),
    "hopper-medium-expert-v2": (3e-4, 1.0, False, "none", 2000, 5.0, 2),
    "walker2d-medium-expert-v2": (3e-4, 1.0, False, "none", 2000, 5.0, 1),
    "antmaze-umaze-v0": (3e-4, 0.5, False, "cql_antmaze", 1000, 2.0, 2),
    "antmaze-umaze-diverse-v0": (3e-4, 2.0, True, "cql_antmaze", 1000, 3.0, 2),
    "antmaze-medium-play-v0": (1e-3, 2.0, True, "cql_antmaze", 1000, 2.0, 1),
    "antmaze-medium-diverse-v0": (3e-4, 3.0, True, "cql_antmaze", 1000, 1.0, 1),
    "antmaze-large-play-v0": (3e-4, 4.5, True, "cql_antmaze", 1000, 10.0, 2),
    "antmaze-large-diverse-v0": (3e-4, 3.5, True, "cql_antmaze", 1000, 7.0, 1),
    "pen-human-v1": (3e-5, 0.15, False, "normalize", 1000, 7.0, 2),
    "pen-cloned-v1": (3e-5, 0.1, False, "normalize", 1000, 8.0, 2),
    "kitchen-complete-v0": (3e-4, 0.005, False, "none", 250, 9.0, 2),
    "kitchen-partial-v0": (3e-4, 0.005, False, "none", 1000, 10.0, 2),
    "kitchen-mixed-v0": (3e-4, 0.005, False, "none", 1000, 10.0, 0),
}
_KEYS = ("lr", "eta", "max_q_backup", "reward_tune", "num_epochs", "gn", "top_k")

HYPERPARAMETERS = {name: dict(zip(_KEYS, row)) for name, row in _TABLE.items()}

# 2-D bandit toy (bandit_toy.py of the QG fork): one-step, discount 0, max_action 4.5
TOY_HYPERPARAMETERS = {
    "8gaussians": {"lr": 3e-4, "eta": 3.0, "max_q_backup": False, "reward_tune": "none",
                   "num_epochs": 300, "gn": 2.0, "top_k": 1},
    "rings": {"lr": 3e-4, "eta": 3.0, "max_q_backup": False, "reward_tune": "none",
              "num_epochs": 200, "gn": 2.0, "top_k": 1},
    "swissroll": {"lr": 3e-4, "eta": 3.0, "max_q_backup": False, "reward_tune": "none",
                  "num_epochs": 200, "gn": 2.0, "top_k": 1},
}

# used for datasets the table does not know (e.g. datasets generated in this project)
DEFAULT_HYPERPARAMETERS = {"lr": 3e-4, "eta": 1.0, "max_q_backup": False, "reward_tune": "none",
                           "num_epochs": 2000, "gn": 5.0, "top_k": 1}

_FAMILIES = ("halfcheetah", "hopper", "walker2d", "antmaze", "pen", "kitchen")


def _canonical(name):
    """Best-effort map of a Gymnasium/Minari/generated dataset name to a table key."""
    low = name.lower().replace("_", "-").replace("/", "-")
    low = low.replace("walker-", "walker2d-") if "walker2d" not in low else low
    family = next((f for f in _FAMILIES if f in low), None)
    if family is None:
        return None
    if family in ("halfcheetah", "hopper", "walker2d"):
        for quality in ("medium-expert", "medium-replay", "medium"):
            if re.search(rf"(^|[-\s]){quality}($|[-\s])", low) or quality in low:
                return f"{family}-{quality}-v2"
        return None
    for key in HYPERPARAMETERS:
        stem = key.rsplit("-v", 1)[0]
        if stem in low:
            return key
    return None


def lookup_hyperparameters(env_name):
    """(table key or None, dict of hyperparameters) for a dataset / toy name; ``default``,
    the embedded dataset, by its Minari id (Hopper medium-replay's row)."""
    if env_name == "default":
        env_name = DEFAULT_DATASET_ID
    if env_name in TOY_HYPERPARAMETERS:
        return env_name, dict(TOY_HYPERPARAMETERS[env_name])
    if env_name in HYPERPARAMETERS:
        return env_name, dict(HYPERPARAMETERS[env_name])
    key = _canonical(env_name)
    if key is not None:
        return key, dict(HYPERPARAMETERS[key])
    return None, dict(DEFAULT_HYPERPARAMETERS)
