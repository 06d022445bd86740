"""The Traitors following Curvo (2025): round-table banishments and secret murders."""

from scenarios.traitors.config import TraitorsConfig
from scenarios.traitors.rules import Traitors

__all__ = ["Traitors", "TraitorsConfig"]
