"""Reproducibility suite for interpretable deep RL: i-DQN (Annasamy & Sycara, 2019) and baselines.

Agents are registered in :mod:`agents.registry`; training and evaluation go through
:mod:`agents.runner`, driven by the CLI in :mod:`agents.__main__` (``python -m agents``).
"""

__version__ = "0.1.0"
