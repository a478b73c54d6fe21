"""Choose MindSpore's device, mode and threads once, before any tensor op runs.

MindSpore refuses ``set_device`` after the first kernel ran, and ``threads_num`` can be
set only once, so every entry point calls :func:`init_mindspore` first. It also absorbs
the one-time ``SystemError`` that MindSpore 2.10 (built against NumPy 1.x) raises on the
first tensor-with-Python-number op under NumPy 2 (see docs/architecture facts).
"""
import contextlib
import io
import os

os.environ.setdefault("GLOG_v", "3")  # MindSpore's C++ warnings (missing Ascend/GPU plugins) off

from mindspore_rl_ext.core.errors import ConfigError

DEVICE_TARGETS = ("CPU", "GPU", "Ascend", "Auto")
_state = {"device": None}


def _available(device):
    import mindspore as ms

    try:
        return bool(ms.hal.is_available(device))
    except Exception:  # MindSpore raises for backends it was not built with
        return False


def resolve_device_target(device_target="Auto"):
    """Map CPU/GPU/Ascend/Auto to a device MindSpore can use here, or raise ConfigError."""
    if device_target not in DEVICE_TARGETS:
        raise ConfigError(
            f"device_target '{device_target}' is not one of {', '.join(DEVICE_TARGETS)}"
        )
    if device_target == "Auto":
        for candidate in ("Ascend", "GPU"):
            if _available(candidate):
                return candidate
        return "CPU"
    if device_target != "CPU" and not _available(device_target):
        raise ConfigError(
            f"device_target '{device_target}' was asked for, but this MindSpore build "
            f"cannot use it here (is_available('{device_target}') is False); use CPU or Auto"
        )
    return device_target


def default_cpu_threads():
    """One MindSpore op thread per core this process may run on (its CPU affinity, so
    ``taskset`` and container CPU sets count, not the host's cores).

    Measured with benchmarks/threads.py on a 2-core CPU (IQL update, in-graph loop of 1000
    steps, ms/update): threads_num 2 was fastest; 1 (one core idle) and 4 (more threads than
    cores: each kernel waits for a descheduled worker) were slower; MindSpore's own default
    is far more threads than cores. OMP_NUM_THREADS has no effect on these kernels
    (MindSpore's CPU kernels use their own pool; OpenMP only runs graph-kernel-fusion
    kernels, which are off), so it is left alone.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def init_mindspore(device_target="Auto", graph_mode=True, cpu_threads=None):
    """Set device, execution mode and CPU op threads; return the device in use.

    Call before any MindSpore tensor op. A second call with the same device is a no-op;
    with another device it raises ConfigError (MindSpore cannot switch).
    ``cpu_threads`` (MindSpore's CPU op ``threads_num``) defaults to
    ``$MSRL_EXT_CPU_THREADS``, else :func:`default_cpu_threads` (see there and
    benchmarks/README.md for the measurement behind it).
    """
    import mindspore as ms

    device = resolve_device_target(device_target)
    if _state["device"] is not None:
        if _state["device"] != device:
            raise ConfigError(
                f"MindSpore already runs on {_state['device']} in this process; "
                f"cannot switch to {device}"
            )
        return device
    ms.set_device(device)
    ms.set_context(mode=ms.GRAPH_MODE if graph_mode else ms.PYNATIVE_MODE)
    if device == "CPU":
        threads = cpu_threads or int(os.environ.get("MSRL_EXT_CPU_THREADS", 0)) or default_cpu_threads()
        try:
            ms.device_context.cpu.op_tuning.threads_num(int(threads))
        except RuntimeError:  # already set by the caller's own code
            pass
    import numpy as np

    with contextlib.redirect_stderr(io.StringIO()):  # NumPy's 1.x-ABI notice, printed once
        try:  # absorb MindSpore's one-time NumPy-2 init error on the first scalar op
            ms.Tensor(np.ones(1, np.float32)) * 2.0
        except SystemError:
            pass
    _state["device"] = device
    return device


def current_device():
    """The device chosen by init_mindspore, or None before it ran."""
    return _state["device"]
