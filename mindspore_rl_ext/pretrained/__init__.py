"""What every pretrained model (``utils.valuefuncs.Iql``, ``invdynamic.*``) shares: the
model zoo (``zoo``: save / find / list models) and the training plumbing (``common``).
It imports neither ``utils`` nor ``invdynamic``, so they never import each other."""
