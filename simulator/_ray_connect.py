"""Joining Ray: one rule for the sweep driver and the replica backend."""

from __future__ import annotations

import os


def connect(address: str | None) -> bool:
    """Connect to Ray unless already connected; True when this call started the connection.

    ``"auto"`` or None starts a local Ray with this machine's cores (or joins the local
    cluster that ``ray start --head`` runs); anything else is a cluster address.
    """
    import ray
    import ray.exceptions

    if ray.is_initialized():
        return False
    if address in (None, "auto"):
        ray.init(include_dashboard=False)  # plain `ray` ships no dashboard dependencies
    else:
        try:
            ray.init(address=address)  # options like the dashboard belong to the cluster
        except (ConnectionError, ray.exceptions.AuthenticationError) as err:
            from societas.simulator._errors import ConfigError

            hint = ("; Ray's token authentication needs RAY_AUTH_MODE=token and the cluster's "
                    "token (RAY_AUTH_TOKEN or ~/.ray/auth_token) when joining by address"
                    if os.environ.get("RAY_AUTH_MODE") != "token" else "")
            raise ConfigError("--ray", f"cannot join the Ray cluster at {address}: "
                              f"{str(err).splitlines()[0]}{hint}") from None
    return True
