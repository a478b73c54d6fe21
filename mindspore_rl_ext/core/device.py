"""Choose MindSpore's device, mode and threads once, before any tensor op runs.

MindSpore refuses ``set_device`` after the first kernel ran, and ``threads_num`` can be
set only once, so scripts call :func:`init_mindspore` first. Library code that may run
without it (a session, the pretrained models) calls :func:`ensure_mindspore`.

MindSpore 2.10 was built against NumPy 1.x. Under NumPy 2 the first op of a process that
converts a Python argument (a number, a shape) fails once with ``SystemError: <method
'__truediv__' of 'TensorPy' objects> returned a result with an exception set``; every
later op works. :func:`absorb_numpy_init_error` takes that failure on an argument that
can never run a kernel, so it leaves the device choice open; the package's
``__init__`` calls it, so importing ``mindspore_rl_ext`` makes MindSpore usable.
"""
import contextlib
import io
import os

os.environ.setdefault("GLOG_v", "3")  # MindSpore's C++ warnings (missing Ascend/GPU plugins) off

from mindspore_rl_ext.core.errors import ConfigError

DEVICE_TARGETS = ("CPU", "GPU", "Ascend", "Auto")
_state = {"device": None, "numpy_init_absorbed": False}


def absorb_numpy_init_error() -> None:
    """Run MindSpore's one-time NumPy initialisation on a call that fails in argument
    parsing (a float shape), so no kernel runs and ``set_device`` stays allowed.

    With NumPy 2 the initialisation error surfaces here (as SystemError, or folded into
    the TypeError of the bad shape) instead of in the caller's first real op; without
    the error the call is a plain TypeError. Idempotent.
    """
    if _state["numpy_init_absorbed"]:
        return
    import mindspore as ms
    import numpy as np

    with contextlib.redirect_stderr(io.StringIO()):  # NumPy's 1.x-ABI notice, printed once
        try:
            ms.Tensor(np.ones(1, np.float32)).reshape(0.5)
        except (SystemError, TypeError, ValueError):
            pass
    _state["numpy_init_absorbed"] = True


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
    absorb_numpy_init_error()
    _state["device"] = device
    return device


def ensure_mindspore() -> str:
    """The device in use: :func:`init_mindspore` ("Auto", GRAPH_MODE) when nothing chose
    one yet. If the caller set MindSpore's device itself, that choice is kept."""
    if _state["device"] is not None:
        return _state["device"]
    try:
        return init_mindspore("Auto")
    except RuntimeError:  # the caller's own ms.set_device ran first: keep its device
        import mindspore as ms

        _state["device"] = ms.get_context("device_target")
        return _state["device"]


def current_device():
    """The device chosen by init_mindspore, or None before it ran."""
    return _state["device"]
