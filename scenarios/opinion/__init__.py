"""Opinion dynamics: classical models (vectorised) and LLM agents (Chuang et al. 2024)."""

from societas.scenarios.opinion.classical import OpinionModel, OpinionModelConfig
from societas.scenarios.opinion.rules import OpinionDynamics, OpinionDynamicsConfig

__all__ = ["OpinionDynamics", "OpinionDynamicsConfig", "OpinionModel", "OpinionModelConfig"]
