"""A sweep's runs on Ray: one task per run, each in a fresh worker process.

The task (``max_calls=1``, so Ray starts a new worker for each run) starts the run's
training entry point as a child process with ``MSRL_EXT_CPU_THREADS`` set to the task's
``num_cpus``, its output in ``output.txt`` of the run folder. The child receives SIGTERM
if the worker dies, so it saves a checkpoint and stops. A finished run is skipped on the
next start; any other run is started again, and its entry point resumes from its newest
checkpoint. Multi-machine sweeps need OUT on a filesystem every machine sees at the
same path.
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.sweep.algorithms import REPO_ROOT
from mindspore_rl_ext.sweep.records import RUN_FILE, read_json, update_run

OUTPUT_FILE = "output.txt"
OBJECT_STORE_BYTES = 100 * 1024 ** 2  # local Ray: runs pass only small dicts
CONNECT_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1


def _term_with_parent():
    """In the child, before exec: SIGTERM when the worker that started it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _error_line(output_path: str, rc: int) -> str:
    """The entry point's own error line from its output, else the exit code or signal."""
    try:
        with open(output_path, encoding="utf-8", errors="replace") as f:
            lines = f.read()[-20000:].splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith(("Error:", "Training interrupted:")):
            return line
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}"
    return f"exit code {rc}"


def _wait_for_previous(run_dir: str, timeout_s: float = 600.0) -> None:
    """Wait while this host still runs the run's previous training (a retried task after
    its worker died: the old training saves a checkpoint on SIGTERM, then exits)."""
    record = read_json(os.path.join(run_dir, RUN_FILE))
    pid, deadline = record.get("train_pid"), time.time() + timeout_s
    if not pid or record.get("host") != socket.gethostname():
        return
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if os.path.abspath(run_dir).encode() not in f.read():
                    return  # the pid now belongs to another process
        except OSError:
            return
        time.sleep(1.0)


def train_run(run_dir: str, argv: list, num_cpus: int) -> dict:
    """Body of a run's Ray task: train via the entry point; ``{"rc", "error", "wall_s"}``."""
    _wait_for_previous(run_dir)
    start = time.time()
    env = dict(os.environ, MSRL_EXT_CPU_THREADS=str(num_cpus),
               PYTHONPATH=os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p))
    output = os.path.join(run_dir, OUTPUT_FILE)
    with open(output, "a", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=run_dir,
                                preexec_fn=_term_with_parent)
        update_run(run_dir, state="running", host=socket.gethostname(), worker_pid=os.getpid(),
                   train_pid=proc.pid, started=start)
        rc = proc.wait()
    return {"rc": rc, "error": None if rc == 0 else _error_line(output, rc),
            "wall_s": round(time.time() - start, 1)}


def connect(address: str = None, num_cpus: int = None) -> None:
    """Start a local Ray instance, or join the cluster at ``address`` (``auto`` or
    HOST:PORT); a ConfigError naming --address when there is none to join."""
    import ray

    if address is None:
        # "local": a new instance even where `ray start` left a cluster running here
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 object_store_memory=OBJECT_STORE_BYTES, logging_level="WARNING")
        return
    if address != "auto":
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--address must be 'auto' or HOST:PORT, got '{address}'")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as e:
            raise ConfigError(f"--address {address}: no Ray cluster answers there ({e}); start "
                              f"one with 'ray start --head --port {port}'") from None
    try:
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    except Exception as e:  # ConnectionError, RuntimeError, ValueError...: all 'cannot join'
        raise ConfigError(f"--address {address}: cannot join a Ray cluster there: "
                          f"{type(e).__name__}: {e}") from None


@dataclass
class Progress:
    """The live status line: runs done / running / failed / pending, and an ETA."""

    total: int
    skipped: int
    stream: object = sys.stderr
    done: int = 0
    failed: list = field(default_factory=list)
    durations: list = field(default_factory=list)
    started: float = field(default_factory=time.time)
    _last: str = ""

    def line(self, running: int) -> str:
        left = self.total - self.skipped - self.done - len(self.failed)
        eta = "?"
        if self.durations:
            seconds = sum(self.durations) / len(self.durations) * left / max(1, running)
            eta = time.strftime("%H:%M:%S", time.gmtime(seconds))
        return (f"sweep: {self.skipped + self.done}/{self.total} done ({self.skipped} skipped), "
                f"{running} running, {len(self.failed)} failed, {left - running} pending, ETA {eta}")

    def show(self, running: int) -> None:
        text = self.line(running)
        if text == self._last:
            return
        self._last = text
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.stream.write(f"\r{text}\033[K" if tty else text + "\n")
        self.stream.flush()

    def summary(self) -> str:
        wall = time.strftime("%H:%M:%S", time.gmtime(time.time() - self.started))
        lines = [f"sweep finished in {wall}: {self.done} trained, {self.skipped} already done, "
                 f"{len(self.failed)} failed of {self.total} runs"]
        lines += [f"  FAILED {key}: {error}" for key, error in self.failed]
        return "\n".join(lines)


def run_all(runs: list, out: str, sweep, tensorboard: bool, progress: Progress) -> None:
    """Submit every run not done yet as a Ray task; wait, recording each result."""
    import ray

    task = ray.remote(max_calls=1)(train_run)
    pending = {}
    for run in runs:
        run_dir = run.folder(out)
        run.write_inputs(run_dir, tensorboard)
        record = read_json(os.path.join(run_dir, RUN_FILE))
        update_run(run_dir, key=run.key, state="pending", settings=run.settings(), error=None,
                   attempts=record.get("attempts", 0) + 1)
        ref = task.options(num_cpus=sweep.num_cpus, max_retries=sweep.max_retries,
                           name=run.key).remote(run_dir, run.argv(run_dir, sweep.device),
                                                sweep.num_cpus)
        pending[ref] = (run, run_dir)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in ready:
            run, run_dir = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the worker died and Ray could not retry
                result = {"rc": None, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}",
                          "wall_s": None}
            state = "done" if result["rc"] == 0 else "failed"
            update_run(run_dir, state=state, error=result["error"], rc=result["rc"],
                       wall_s=result["wall_s"], finished=time.time())
            if state == "done":
                progress.done += 1
                progress.durations.append(result["wall_s"])
            else:
                progress.failed.append((run.key, result["error"]))
        running = sum(read_json(os.path.join(d, RUN_FILE)).get("state") == "running"
                      for _, d in pending.values())
        progress.show(running)
