"""One writer per checkpoint folder: an exclusive ``flock`` on ``<root>/.lock``.

The holder writes its PID, host and start time into the file. The kernel releases the
lock when the holder exits or is killed (SIGKILL included), so a lock file left behind
never blocks the next run; the next holder overwrites it. Readers (evaluation, loading
networks) take no lock.
"""
import fcntl
import json
import os
import socket
import time

from mindspore_rl_ext.core.errors import CheckpointError

LOCK_NAME = ".lock"


class CheckpointFolderLock:
    """``with CheckpointFolderLock(root):`` holds the writer lock of checkpoint folder
    ``root`` (created if missing); CheckpointError naming the folder and the holder's PID
    if another training holds it."""

    def __init__(self, root: str):
        self.root = root
        self.path = os.path.join(root, LOCK_NAME)
        self._fd = None

    def acquire(self) -> None:
        try:
            os.makedirs(self.root, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CheckpointError(
                f"cannot create the lock file '{self.path}' of checkpoint folder "
                f"'{self.root}' ({e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise CheckpointError(
                f"checkpoint folder '{self.root}' is in use by another training ({holder}); "
                f"wait for it to end or use another ckpt_path") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def _describe_holder(fd):
    """'PID <pid> on <host>, since <time>' from the lock file, as far as it is readable."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        return f"PID {info['pid']} on {info['host']}, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "PID unknown: the holder has not written it yet"
