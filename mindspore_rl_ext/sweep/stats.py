"""Interquartile mean (IQM) and its percentile-bootstrap confidence interval over seeds.

IQM as in rliable (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical
Precipice"; upstream google-research/rliable, ``metrics.aggregate_iqm``): the mean of the
scores left after dropping ``floor(n / 4)`` from each end (SciPy's ``trim_mean(x, 0.25)``;
with fewer than 4 seeds nothing is dropped, so it equals the mean). The interval is the
plain percentile bootstrap over seeds (rliable's per-task case): resample the seeds with
replacement ``reps`` times, take the IQM of each sample, and report the
``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles. Written here because
rliable pulls in pandas, statsmodels, arch and seaborn.
"""
import numpy as np


def iqm(scores, axis: int = -1) -> np.ndarray:
    """Interquartile mean along ``axis``."""
    x = np.sort(np.asarray(scores, dtype=np.float64), axis=axis)
    n = x.shape[axis]
    cut = n // 4
    return np.take(x, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def bootstrap_ci(scores, reps: int = 2000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the IQM of ``scores`` (one value per seed)."""
    x = np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng(seed)
    samples = x[rng.integers(0, len(x), size=(reps, len(x)))]
    low, high = np.quantile(iqm(samples, axis=1), [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)
