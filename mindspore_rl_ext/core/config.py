"""Config dicts and strict YAML overrides.

An algorithm's default config is a dict of named parameter dicts (``learner_params``,
``trainer_params``...), shaped like MindSpore Reinforcement's. A YAML file overrides
any of them. Unlike MindSpore Reinforcement, which skipped unknown keys and missing
files silently, every problem here is a :class:`ConfigError` that names the file and
the key: an unknown key (with the closest valid name), a value of the wrong type, a
file that does not exist or does not parse.
"""
import copy
import difflib
import os

import yaml

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.files import read_errors_as


def load_yaml(path):
    """Read a YAML mapping from ``path``; ConfigError for a missing or malformed file."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file '{path}' does not exist")
    with read_errors_as(ConfigError, f"config file '{path}' is not valid YAML"):
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file '{path}' must hold a mapping of keys to values, "
            f"got {type(data).__name__}"
        )
    return data


def _type_ok(default, value):
    if default is None or value is None:
        return True  # None defaults accept any value; any key may be reset to None
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _suggest(key, valid):
    close = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def merge_strict(base, override, where):
    """Return a copy of ``base`` with ``override`` merged in, refusing unknown keys and
    wrong types. ``where`` names the source (file and key path) for error messages."""
    if not isinstance(override, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(override).__name__}")
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise ConfigError(
                f"{where}: unknown key '{key}'{_suggest(key, base)}; "
                f"valid keys: {', '.join(map(str, base))}"
            )
        default = base[key]
        if isinstance(default, dict):
            merged[key] = merge_strict(default, value, f"{where}.{key}")
            continue
        if not _type_ok(default, value):
            raise ConfigError(
                f"{where}.{key}: expected {type(default).__name__}, "
                f"got {type(value).__name__} ({value!r})"
            )
        if isinstance(default, float) and isinstance(value, int):
            value = float(value)
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        merged[key] = value
    return merged


def apply_yaml(config, path):
    """Merge the YAML file at ``path`` into ``config`` (a dict of parameter dicts)."""
    if path is None:
        return copy.deepcopy(config)
    return merge_strict(config, load_yaml(path), f"'{path}'")


def require(condition, where, message):
    """Raise ConfigError(f"{where}: {message}") unless ``condition``."""
    if not condition:
        raise ConfigError(f"{where}: {message}")
