"""File helpers shared by the loaders, the data generator and the model zoo."""
import contextlib
import hashlib
from collections.abc import Iterator

from mindspore_rl_ext.core.errors import MsRlExtError


def file_sha256(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def read_errors_as(error: type[MsRlExtError], message: str) -> Iterator[None]:
    """Inside the block, any failure becomes ``error(f"{message}: {type}: {detail}")``.

    For code that reads one file; ``message`` names the file and what it should be.
    h5py, minari, NumPy, PyYAML and MindSpore raise many undocumented types on damaged
    bytes (RuntimeError from the HDF5 library, KeyError, AssertionError, EOFError,
    zipfile.BadZipFile, RecursionError...), so every Exception counts. Our own errors
    (already naming the file or key) pass through unchanged.
    """
    try:
        yield
    except MsRlExtError:
        raise
    except Exception as err:
        raise error(f"{message}: {type(err).__name__}: {err}") from err
