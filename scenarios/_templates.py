"""Prompt templates kept beside each scenario's rules (``<scenario>/prompts/<verb>.j2``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2


@cache
def _environment(folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
        autoescape=False, trim_blocks=False, keep_trailing_newline=False,
    )


class Prompts:
    """Renders the templates in a scenario's ``prompts/`` folder by verb."""

    def __init__(self, module_file: str) -> None:
        self.folder = str(Path(module_file).resolve().parent / "prompts")

    def render(self, verb: str, **values: Any) -> str:
        """Render ``prompts/<verb>.j2`` (missing variables are errors, not blanks)."""
        return _environment(self.folder).get_template(f"{verb}.j2").render(**values).strip()

    def lazy(self, verb: str, **values: Any) -> Callable[[], str]:
        """A function rendering ``prompts/<verb>.j2`` when first called (for `Question.prompt`)."""
        return functools.partial(self.render, verb, **values)
