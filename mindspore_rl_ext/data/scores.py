"""D4RL reference scores (``d4rl/infos.py``) and the x100 normalised score.

Datasets generated here carry these constants as their Minari ``ref_min_score`` /
``ref_max_score``, so scores read like D4RL tables (the -v5 environments differ from
D4RL's mujoco-py -v2 ones, so the comparison is indicative, not exact).
"""
import numpy as np

from mindspore_rl_ext.core.errors import DatasetError

# family -> (REF_MIN_SCORE, REF_MAX_SCORE); antmaze is listed before ant on purpose
D4RL_REF_SCORES = {
    "hopper": (-20.272305, 3234.3),
    "walker2d": (1.629008, 4592.3),
    "halfcheetah": (-280.178953, 12135.0),
    "antmaze": (0.0, 1.0),
    "ant": (-325.6, 3879.7),
}


def env_family(env_name):
    """The D4RL family in a name such as 'hopper', 'Hopper-v5', 'walker2d-medium-v2',
    'msrl_ext/halfcheetah/random-v0'; DatasetError when none matches."""
    lowered = str(env_name).lower()
    for family in D4RL_REF_SCORES:
        if family in lowered:
            return family
    raise DatasetError(f"no D4RL reference scores for env '{env_name}': expected a name "
                       f"containing one of {sorted(D4RL_REF_SCORES)}")


def normalize(returns, ref_min, ref_max):
    """100 * (returns - ref_min) / (ref_max - ref_min); a float for a scalar, else an array."""
    scaled = 100.0 * (np.asarray(returns, np.float64) - ref_min) / (ref_max - ref_min)
    return float(scaled) if scaled.ndim == 0 else scaled


def normalized_score(env_name, returns):
    """D4RL normalised score (x100) of returns on env_name's family."""
    return normalize(returns, *D4RL_REF_SCORES[env_family(env_name)])
