"""Test-wide setup: MindSpore on CPU in GRAPH_MODE, chosen before any op runs; hypothesis
keeps its files (example database, constants cache) under the system temp dir, never in
a ``.hypothesis`` folder of the repository."""
import os
import tempfile

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
