"""Peer implementations as sweep algorithms: other libraries' algorithms on our data.

A peer runs in the benchmark venv (``bash benchmarks/setup_bench_env.sh``: torch,
d3rlpy, gymnasium with MuJoCo), apart from the project's environment, since its pins would
break ours and our package (MindSpore) does not import there. The sweep starts a peer's
launcher in our environment (``d3rlpy_iql_launch.py``); it checks the run's config,
resolves the dataset with our loaders and writes it into the run folder as a plain
``.npz`` (``export.py``), then replaces itself with the peer's standalone script under
the venv's python (``d3rlpy_iql.py``), which writes the run's log and ``metrics.csv`` in
our formats, so the sweep's records and report read a peer run like any other.
"""
