"""The project's own error types: every bad input ends in one of these, with a message
that names the file, key or argument and what was expected."""


class MsRlExtError(Exception):
    """Base class of all errors raised on purpose by mindspore_rl_ext."""


class ConfigError(MsRlExtError, ValueError):
    """A config file, YAML override or command-line argument is wrong."""


class DatasetError(MsRlExtError, ValueError):
    """A dataset id, file or array is missing or malformed."""


class CheckpointError(MsRlExtError, ValueError):
    """A checkpoint is missing, truncated, corrupt or does not match the run."""


class TrainingDivergedError(MsRlExtError, RuntimeError):
    """A loss or a weight became NaN or Inf during training."""
