"""Scenario families. Each registers itself through the ``societas.scenarios`` entry points."""
