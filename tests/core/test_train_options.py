"""The train entry points' shared options (core/train_options.py): defaults, and a usage
error naming --episode for a budget below one episode."""
import pytest
from helpers import load_script

ENTRY_POINTS = {  # script -> its default log file
    "example/iql/train.py": "iql_train_log.txt",
    "mindspore_rl_ext/sweep/peers/d3rlpy_iql_launch.py": "d3rlpy_iql_train_log.txt",
}


@pytest.mark.parametrize("script", ENTRY_POINTS)
def test_shared_options_and_their_defaults(script):
    args = load_script(script).parse_args(["--episode", "3", "--env_yaml", "e.yaml", "--device_target", "CPU"])
    assert (args.episode, args.env_yaml, args.algo_yaml, args.device_target, args.log_file) == (
        3, "e.yaml", None, "CPU", ENTRY_POINTS[script])


@pytest.mark.parametrize("script", ENTRY_POINTS)
@pytest.mark.parametrize("argv, message", [
    (["--episode", "0"], "--episode must be >= 1, got 0"),
    ([], "the following arguments are required: --episode"),
    (["--episode", "2", "--device_target", "TPU"], "--device_target: invalid choice: 'TPU'"),
])
def test_bad_options_are_usage_errors_naming_the_option(script, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(script).parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
