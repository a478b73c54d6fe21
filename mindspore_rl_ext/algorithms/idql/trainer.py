"""IDQLTrainer: one episode = n_steps_per_episode compiled updates; IQL's trainer with
IDQL's networks and host state."""
import numpy as np

from mindspore_rl_ext.algorithms.iql.trainer import IQLTrainer
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX
from mindspore_rl_ext.envs.online import OnlineEnvironment
from mindspore_rl_ext.envs.online_collector import OnlineCollector


class IDQLTrainer(IQLTrainer):
    """Checkpoints one folder per network: ``actor``, ``ema_actor``, ``critic`` (twin Q),
    ``critic_target``, ``value`` and, for aligniql_hard, ``multipliers``. The resume state
    holds the optimiser moments and steps; host state the learner's RNG (batch indices,
    diffusion steps, noise, dropout seeds) and the actor's (sampler noise), so a resumed
    run repeats an uninterrupted one exactly. Evaluation is greedy with
    ``num_candidates``; each other N of ``eval_candidate_sweep`` is evaluated and logged.

    Offline-to-online (``online_params.online_episodes`` > 0): the episodes after
    ``offline_episodes`` each collect ``env_steps_per_episode`` transitions with the
    stochastic sampler into the device dataset, then run the online update on mixed
    batches (``IDQLLearner.learn_online``), and evaluate every ``eval_interval`` of them
    (``eval_return``, ``eval_score`` in the episode's metrics). The host state then also
    holds the online rows and the environment's state (``envs.online_collector``)."""

    LEGACY_FINGERPRINT_VALUES = {}
    POLICY_NETWORK = "actor"

    def __init__(self, msrl, params, log, fingerprint=None, candidate_sweep=(),
                 offline_episodes=None, online_params=None):
        super().__init__(msrl, params, log, fingerprint)
        self.candidate_sweep = [n for n in candidate_sweep if n != msrl.actor.num_candidates]
        self.offline_episodes = offline_episodes
        self.online = dict(online_params or {"online_episodes": 0})
        self.collector = None
        if self.online["online_episodes"] and offline_episodes is not None:
            env = OnlineEnvironment({"name": msrl.collect_environment.name})
            # first reset: the run's seed, shifted off the evaluation episodes' seeds
            self.collector = OnlineCollector(env, msrl.eval_environment.seed + 10_000)

    def online_phase(self):
        return self.collector is not None and self.episode >= self.offline_episodes

    def train_one_episode(self):
        if not self.online_phase():
            return super().train_one_episode()
        actor, learner, buffer = self.msrl.actor, self.msrl.learner, self.msrl.replay_buffer
        rows, returns = self.collector.collect(lambda obs: actor.get_action(obs, stochastic=True),
                                               self.online["env_steps_per_episode"])
        size = learner.add_transitions(buffer.normalize(rows["obs"]), rows["act"], rows["rew"],
                                       buffer.normalize(rows["next_obs"]), rows["not_done"])
        losses = learner.learn_online(self.params["n_steps_per_episode"])
        losses["buffer_size"] = float(size)
        if returns:
            losses["online_return"] = float(np.mean(returns))
        interval = self.online["eval_interval"]
        if interval and (self.episode + 1 - self.offline_episodes) % interval == 0:
            mean_return, score = self.evaluate()
            losses["eval_return"] = mean_return
            if score is not None:
                losses["eval_score"] = score
        return losses

    def train(self, episodes, callbacks, resume=True):
        try:
            return super().train(episodes, callbacks, resume=resume)
        finally:
            if self.collector is not None:
                self.collector.env.close()

    def evaluate(self):
        actor, buffer = self.msrl.actor, self.msrl.replay_buffer
        episodes, vectorized = self.params["num_evaluate_episode"], self.params["vectorized_eval"]
        for n in self.candidate_sweep:
            mean_return = float(np.mean(actor.act(episodes, vectorized, num_candidates=n)))
            score = buffer.normalized_score(mean_return)
            score_text = f", normalized score is {score:.2f}" if score is not None else ""
            self.log.info(f"Evaluate with N={n} candidates: total rewards is "
                          f"{mean_return:.3f}{score_text}")
        mean_return = float(np.mean(actor.act(episodes, vectorized)))
        return mean_return, buffer.normalized_score(mean_return)

    def trainable_variables(self):
        return self.msrl.policy_and_network.networks()

    def resume_cell(self):
        return self.msrl.learner.update, DATASET_PREFIX

    def host_state(self):
        state = {"index_rng": self.msrl.learner.rng.bit_generator.state,
                 "actor_rng": self.msrl.actor.rng.bit_generator.state}
        if self.collector is not None:
            state.update(self.collector.state())
        return state

    def load_host_state(self, state):
        self.msrl.learner.rng.bit_generator.state = state["index_rng"]
        self.msrl.actor.rng.bit_generator.state = state["actor_rng"]
        rows = self.collector.load_state(state) if self.collector is not None else None
        if rows is not None:
            buffer = self.msrl.replay_buffer
            self.msrl.learner.add_transitions(buffer.normalize(rows["obs"]), rows["act"],
                                              rows["rew"], buffer.normalize(rows["next_obs"]),
                                              rows["not_done"])
