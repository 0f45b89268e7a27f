"""What the providers refuse (the root of the project's exceptions is ``model.errors.NatsTenancyError``)."""
from __future__ import annotations

from components.model.errors import NatsTenancyError


class ChangeRefused(NatsTenancyError, RuntimeError):
    """A change refused before anything on a server changes, with what to do about it.

    Stored messages the environment has not acknowledged losing (``model/data_loss.py``),
    ``prevent_destroy``, a replacement the update rules forbid, an object that already exists on the
    server with another configuration (never adopted silently)."""
