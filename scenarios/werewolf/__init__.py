"""Werewolf following Werewolf Arena (Bailis, Friedhoff & Chen 2024), with configurable roles."""

from societas.scenarios.werewolf.config import WerewolfConfig
from societas.scenarios.werewolf.rules import Werewolf

__all__ = ["Werewolf", "WerewolfConfig"]
