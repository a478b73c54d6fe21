"""Actor and Learner base classes (MindSpore Reinforcement's roles).

An ``Actor`` turns observations into actions (evaluation, data collection); a
``Learner`` owns the networks' optimisers and runs compiled updates.
"""


class Actor:
    """Acts in an environment with the policies it was given."""

    def __init__(self, params, policy_and_network, environment):
        self.params = params
        self.policy_and_network = policy_and_network
        self.environment = environment

    def get_action(self, observations):
        """Batched numpy observations -> batched numpy actions."""
        raise NotImplementedError

    def act(self, num_episodes):
        """Run ``num_episodes`` episodes; return their returns (numpy array)."""
        raise NotImplementedError


class Learner:
    """Updates networks from batches of experience."""

    def __init__(self, params, policy_and_network, replay_buffer):
        self.params = params
        self.policy_and_network = policy_and_network
        self.replay_buffer = replay_buffer

    def learn(self, num_steps):
        """Run ``num_steps`` gradient steps; return {loss name: mean value}."""
        raise NotImplementedError
