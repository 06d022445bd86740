"""Joining Ray: one rule for the sweep driver and the replica backend."""

from __future__ import annotations


def connect(address: str | None) -> bool:
    """Connect to Ray unless already connected; True when this call started the connection.

    ``"auto"`` or None starts a local Ray with this machine's cores (or joins the local
    cluster that ``ray start --head`` runs); anything else is a cluster address.
    """
    import ray

    if ray.is_initialized():
        return False
    if address in (None, "auto"):
        ray.init(include_dashboard=False)  # plain `ray` ships no dashboard dependencies
    else:
        ray.init(address=address)  # options like the dashboard belong to the cluster
    return True
