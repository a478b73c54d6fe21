"""MindSpore-Reinforcement-style runtime: Actor, Learner, Trainer, Session, callbacks, config."""
