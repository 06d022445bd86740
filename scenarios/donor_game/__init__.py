"""The donor game (Vallinder & Hughes 2024): indirect reciprocity under cultural evolution."""

from societas.scenarios.donor_game.rules import DonorGame, DonorGameConfig

__all__ = ["DonorGame", "DonorGameConfig"]
