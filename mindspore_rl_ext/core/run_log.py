"""The run's log: lines go to a log file (appended, flushed per line) and the terminal."""
import os
import sys

from tqdm import tqdm


class RunLog:
    """Write log lines to ``path`` (if given) and echo them to the terminal.

    Terminal echo goes through ``tqdm.write`` so a progress bar stays intact.
    """

    def __init__(self, path=None, echo=True):
        self.path = path
        self.echo = echo
        self._file = None
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")

    def info(self, line):
        if self._file:
            self._file.write(line + "\n")
            self._file.flush()
        if self.echo:
            tqdm.write(line, file=sys.stdout)

    def close(self):
        if self._file:
            self._file.close()
            self._file = None
