"""Test-wide setup: MindSpore on CPU in GRAPH_MODE, chosen before any op runs; hypothesis
keeps its files (example database, constants cache) under the system temp dir, never in
a ``.hypothesis`` folder of the repository.

The default run (``pytest.ini``: ``-n auto --dist loadgroup``) spreads the tests over one
pytest-xdist worker per CPU core, at most :data:`MAX_WORKERS`. Each worker is pinned to its
own core with one MindSpore op thread (inherited by the scripts it starts): two MindSpore
processes sharing cores slow each other 2-3x. ``pytest -n 0`` runs in one process with
two op threads.
"""
import os
import tempfile

MAX_WORKERS = 2


def _usable_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per usable core, at most MAX_WORKERS."""
    return max(1, min(MAX_WORKERS, len(_usable_cpus())))


def _pin_xdist_worker() -> None:
    """In an xdist worker: pin to the worker's own core, one op thread."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker is None or count is None or int(count) < 2:
        return
    cpus = _usable_cpus()
    if len(cpus) >= int(count):
        os.sched_setaffinity(0, {cpus[int(worker.removeprefix("gw")) % len(cpus)]})
    os.environ["MSRL_EXT_CPU_THREADS"] = "1"


_pin_xdist_worker()
os.environ.setdefault("MSRL_EXT_CPU_THREADS", "2")

try:
    from hypothesis.configuration import set_hypothesis_home_dir
except ImportError:  # hypothesis not installed: the fuzz tests fail on their own import
    pass
else:
    set_hypothesis_home_dir(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
                            or os.path.join(tempfile.gettempdir(), "mindspore_rl_ext_hypothesis"))

from mindspore_rl_ext.core.device import init_mindspore  # noqa: E402

init_mindspore("CPU")
