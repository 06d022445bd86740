"""The two roles of The Traitors and their sides."""

from __future__ import annotations

TRAITOR = "traitor"
FAITHFUL = "faithful"
TRAITORS = "traitors"
FAITHFULS = "faithfuls"

SIDES = {TRAITOR: TRAITORS, FAITHFUL: FAITHFULS}
TITLES = {TRAITOR: "Traitor", FAITHFUL: "Faithful"}
