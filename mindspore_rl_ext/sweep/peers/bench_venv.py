"""Where the benchmark venv's python is: ``--bench-python``, else ``$MSRL_EXT_BENCH_PYTHON``,
else ``~/.cache/mindspore_rl_ext/bench-venv/bin/python`` (the default of
``benchmarks/setup_bench_env.sh``). Used by the benchmarks and by peer sweep algorithms."""
import os

from mindspore_rl_ext.core.errors import ConfigError

DEFAULT_VENV = os.path.expanduser("~/.cache/mindspore_rl_ext/bench-venv")
SETUP_CMD = "bash benchmarks/setup_bench_env.sh"
ENV_VAR = "MSRL_EXT_BENCH_PYTHON"


def bench_python(explicit: str = None) -> str | None:
    """The venv's python (``explicit``, else $MSRL_EXT_BENCH_PYTHON, else the default
    venv's), or None when that file does not exist."""
    path = explicit or os.environ.get(ENV_VAR) or os.path.join(DEFAULT_VENV, "bin", "python")
    return path if os.path.exists(path) else None


def require_bench_python(explicit: str = None) -> str:
    """:func:`bench_python`, or a ConfigError naming the setup command."""
    path = bench_python(explicit)
    if path is None:
        tried = explicit or os.environ.get(ENV_VAR) or os.path.join(DEFAULT_VENV, "bin", "python")
        raise ConfigError(f"the benchmark venv's python '{tried}' does not exist; create the "
                          f"venv with `{SETUP_CMD}` (or point ${ENV_VAR} at one)")
    return path
