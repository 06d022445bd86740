"""The Traitors following Curvo (2025): round-table banishments and secret murders."""

from societas.scenarios.traitors.config import TraitorsConfig
from societas.scenarios.traitors.rules import Traitors

__all__ = ["Traitors", "TraitorsConfig"]
