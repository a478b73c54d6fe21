"""IQM drops a quarter of the seeds at each end; its bootstrap interval brackets it."""
import numpy as np

from mindspore_rl_ext.sweep.stats import bootstrap_ci, iqm


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([100.0, 1, 2, 3, 4, 5, 6, -50]) == np.mean([2, 3, 4, 5])  # 2 cut at each end
    assert iqm([7.0, 1.0, 4.0]) == 4.0  # under 4 seeds nothing is cut
    rows = np.array([[1.0, 2, 3, 40], [5, 6, 7, 8]])
    np.testing.assert_allclose(iqm(rows, axis=1), [2.5, 6.5])


def test_bootstrap_interval_brackets_the_iqm_and_is_reproducible():
    scores = np.random.default_rng(3).normal(50, 10, 10)
    low, high = bootstrap_ci(scores)
    assert low < iqm(scores) < high
    assert scores.min() <= low and high <= scores.max()
    assert bootstrap_ci(scores) == (low, high)
    assert bootstrap_ci([30.0, 30.0, 30.0]) == (30.0, 30.0)
    wide = bootstrap_ci(scores, confidence=0.99)
    assert wide[0] <= low and high <= wide[1]
