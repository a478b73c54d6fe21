"""D4RL normalised scores (x100)."""
import numpy as np
import pytest

from helpers import synthetic_dataset
from mindspore_rl_ext.data.scores import D4RL_REF_SCORES, env_family, normalized_score


@pytest.mark.parametrize("name, family", [
    ("hopper", "hopper"), ("Hopper-v5", "hopper"), ("walker2d-medium-v2", "walker2d"),
    ("msrl_ext/halfcheetah/random-v0", "halfcheetah"), ("Ant-v5", "ant"),
    ("antmaze-umaze-v2", "antmaze"),
])
def test_env_family(name, family):
    assert env_family(name) == family


def test_normalized_score_is_d4rl_times_100():
    lo, hi = D4RL_REF_SCORES["hopper"]
    assert normalized_score("Hopper-v5", lo) == 0.0
    assert normalized_score("Hopper-v5", hi) == pytest.approx(100.0)
    np.testing.assert_allclose(normalized_score("hopper", [lo, hi, 1000.0]),
                               [0.0, 100.0, 100 * (1000 - lo) / (hi - lo)])
    assert normalized_score("antmaze-large-diverse-v2", 0.5) == pytest.approx(50.0)


def test_dataset_normalized_score_and_returns():
    ds = synthetic_dataset(n=200, episode_len=50)
    returns = ds.episode_returns()
    assert returns.shape == (4,)
    np.testing.assert_allclose(returns, ds.rewards.reshape(4, 50).sum(1, dtype=np.float64))
    np.testing.assert_allclose(ds.normalized_score(returns), normalized_score("hopper", returns))
    assert isinstance(ds.normalized_score(3234.3), float)
