"""What a sweep keeps in OUT: ``sweep.json`` (the grid last started there),
``datasets.json`` (each dataset's average return and score) and, per run, ``run.json``
(state pending / running / done / failed, its settings, error, timing)."""
import json
import os

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.files import read_errors_as

RUN_FILE = "run.json"
SWEEP_FILE = "sweep.json"
DATASETS_FILE = "datasets.json"


def write_json(path: str, data: dict) -> None:
    """Write ``data`` atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path)


def read_json(path: str) -> dict:
    """The JSON mapping at ``path``; ``{}`` if there is none; ConfigError if damaged."""
    if not os.path.isfile(path):
        return {}
    with read_errors_as(ConfigError, f"sweep record '{path}' is not valid JSON"):
        with open(path, encoding="utf-8") as f:
            return json.load(f)


def update_run(run_dir: str, **fields) -> dict:
    """Merge ``fields`` into the run's ``run.json``; return the record."""
    path = os.path.join(run_dir, RUN_FILE)
    record = dict(read_json(path), **fields)
    write_json(path, record)
    return record


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def settings_diff(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` for each setting that differs (nested keys dotted)."""
    a, b = _flatten(old), _flatten(new)
    return [f"{k}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def grid_diff(old: dict, new: dict) -> list[str]:
    """Entries added to / left out of the grid since the last start in the same OUT."""
    lines = []
    for key in ("algorithms", "datasets", "seeds"):
        added = [x for x in new.get(key, []) if x not in old.get(key, [])]
        gone = [x for x in old.get(key, []) if x not in new.get(key, [])]
        if added:
            lines.append(f"{key} added: {', '.join(map(str, added))}")
        if gone:
            lines.append(f"{key} left out (their runs are kept, not run): {', '.join(map(str, gone))}")
    return lines
