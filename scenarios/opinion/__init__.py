"""Opinion dynamics: classical models (vectorised) and LLM agents (Chuang et al. 2024)."""

from scenarios.opinion.classical import OpinionModel, OpinionModelConfig
from scenarios.opinion.rules import OpinionDynamics, OpinionDynamicsConfig

__all__ = ["OpinionDynamics", "OpinionDynamicsConfig", "OpinionModel", "OpinionModelConfig"]
