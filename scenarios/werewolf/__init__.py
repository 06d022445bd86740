"""Werewolf following Werewolf Arena (Bailis, Friedhoff & Chen 2024), with configurable roles."""

from scenarios.werewolf.config import WerewolfConfig
from scenarios.werewolf.rules import Werewolf

__all__ = ["Werewolf", "WerewolfConfig"]
