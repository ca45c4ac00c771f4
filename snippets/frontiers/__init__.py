"""Frontiers: reinforcement learning, transfer learning, meta-learning, multimodal learning, ethics."""
