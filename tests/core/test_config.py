"""Config loading and strict YAML overrides."""
import pytest

from mindspore_rl_ext.algorithms.iql.config import DEFAULT_CONFIG, load_config
from mindspore_rl_ext.core.config import merge_strict
from mindspore_rl_ext.core.errors import ConfigError


def write(tmp_path, text, name="o.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_take_the_mujoco_preset():
    cfg = load_config()
    assert cfg["learner_params"]["expectile"] == 0.7
    assert cfg["learner_params"]["temperature"] == 3.0
    assert cfg["dataset_params"]["reward_transform"] == "iql_locomotion"
    assert cfg["policy_params"]["dropout_rate"] is None


@pytest.mark.parametrize("domain,expectile,temperature,dropout,transform", [
    ("antmaze", 0.9, 10.0, None, "iql_antmaze"), ("kitchen", 0.7, 0.5, 0.1, "none"),
    ("adroit", 0.7, 0.5, 0.1, "none")])
def test_domain_presets(tmp_path, domain, expectile, temperature, dropout, transform):
    cfg = load_config(write(tmp_path, f"domain: {domain}\n"))
    assert cfg["learner_params"]["expectile"] == expectile
    assert cfg["learner_params"]["temperature"] == temperature
    assert cfg["policy_params"]["dropout_rate"] == dropout
    assert cfg["dataset_params"]["reward_transform"] == transform


def test_explicit_value_beats_domain_preset(tmp_path):
    env = write(tmp_path, "domain: antmaze\n", "env.yaml")
    algo = write(tmp_path, "learner_params:\n  expectile: 0.8\n", "algo.yaml")
    cfg = load_config(env, algo)
    assert cfg["learner_params"]["expectile"] == 0.8
    assert cfg["learner_params"]["temperature"] == 10.0


def test_int_is_accepted_for_float_and_converted(tmp_path):
    cfg = load_config(write(tmp_path, "learner_params:\n  temperature: 1\n"))
    assert cfg["learner_params"]["temperature"] == 1.0
    assert isinstance(cfg["learner_params"]["temperature"], float)


def test_unknown_key_names_file_key_and_suggestion(tmp_path):
    path = write(tmp_path, "learner_params:\n  expectil: 0.7\n")
    with pytest.raises(ConfigError, match=r"o\.yaml.*learner_params.*unknown key 'expectil'.*did you mean 'expectile'"):
        load_config(path)


def test_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'trainer_param'.*did you mean 'trainer_params'"):
        load_config(write(tmp_path, "trainer_param: {}\n"))


def test_wrong_type_names_key_and_types(tmp_path):
    path = write(tmp_path, "trainer_params:\n  n_steps_per_episode: many\n")
    with pytest.raises(ConfigError, match=r"trainer_params\.n_steps_per_episode: expected int, got str"):
        load_config(path)


def test_bool_is_not_an_int(tmp_path):
    with pytest.raises(ConfigError, match="expected int, got bool"):
        load_config(write(tmp_path, "trainer_params:\n  max_ckpt_num: true\n"))


def test_missing_file_is_an_error_even_with_algo_yaml(tmp_path):
    algo = write(tmp_path, "learner_params:\n  expectile: 0.8\n")
    with pytest.raises(ConfigError, match="config file '.*nope.yaml' does not exist"):
        load_config(str(tmp_path / "nope.yaml"), algo)


def test_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(write(tmp_path, "learner_params: [unclosed\n"))


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


@pytest.mark.parametrize("text,match", [
    ("learner_params:\n  expectile: 1.5\n", r"expectile: must be a number in \(0, 1\)"),
    ("learner_params:\n  expectile: 0.0\n", r"expectile: must be a number in \(0, 1\)"),
    ("learner_params:\n  actor_lr: -0.001\n", r"actor_lr: must be > 0"),
    ("learner_params:\n  temperature: -1.0\n", r"temperature: must be a number >= 0"),
    ("dataset_params:\n  batch_size: 0\n", r"batch_size: must be >= 1"),
    ("dataset_params:\n  batch_size: null\n", r"batch_size: must be >= 1 \(an int\), got None"),
    ("learner_params:\n  actor_lr: null\n", r"actor_lr: must be > 0 \(a number\), got None"),
    ("policy_params:\n  hidden_sizes: null\n", r"hidden_sizes: must be a list of positive ints"),
    ("domain: atari\n", r"domain: 'atari' is not one of"),
    ("policy_params:\n  hidden_sizes: [256, -1]\n", r"hidden_sizes: must be a list of positive ints"),
    ("learner_params:\n  actor_lr_schedule: linear\n", r"actor_lr_schedule: must be 'cosine' or 'constant'"),
    ("learner_params:\n  behaviour_cloning: 'yes'\n", r"learner_params.behaviour_cloning: expected bool, got str \('yes'\)"),
    ("learner_params:\n  fused_optimizer: 1\n", r"learner_params.fused_optimizer: expected bool, got int \(1\)"),
])
def test_out_of_range_values(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text))


def test_merge_does_not_mutate_defaults():
    before = DEFAULT_CONFIG["learner_params"]["gamma"]
    merged = merge_strict(DEFAULT_CONFIG, {"learner_params": {"gamma": 0.5}}, "test")
    assert merged["learner_params"]["gamma"] == 0.5
    assert DEFAULT_CONFIG["learner_params"]["gamma"] == before
