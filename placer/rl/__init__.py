"""Reinforcement learning: the PPO policy-value network, PPO and its training loop."""
