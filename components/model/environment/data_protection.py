"""The ``data_protection`` section of an environment file (see ``docs/data-loss.md``).

    data_protection:
      allow_data_loss: [ACME_SHIPPING_LIVE, acme_carts]   # stream or bucket names
      backup_before_loss: .state/backups                  # snapshot before replace/delete

Names are checked for shape only: an acknowledgement usually names an object that the same change
removes from the file, so it cannot be checked against the declared objects.
"""
from __future__ import annotations

import re
from typing import Any

from components.model.data_loss import DataProtection
from components.model.environment.schema import Reader, child, item, show

KEYS = ("allow_data_loss", "backup_before_loss")
#: JetStream stream names and bucket names (server: no whitespace, '.', '*', '>', path separators).
OBJECT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def read_data_protection(r: Reader, value: Any, path: str) -> DataProtection:
    """The ``data_protection`` section; an absent or unreadable section protects everything."""
    if value is None:
        return DataProtection()
    m = r.mapping(value, path, KEYS)
    if m is None:
        return DataProtection()
    names: set[str] = set()
    where = child(path, "allow_data_loss")
    for i, name in enumerate(r.sequence(m.get("allow_data_loss"), where)):
        if not isinstance(name, str) or OBJECT_NAME.match(name) is None:
            r.add(item(where, i), f"{show(name)} is not a stream or bucket name",
                  "use the name as the preview's refusal shows it, e.g. ACME_ORDERS_LIVE or acme_settings")
            continue
        names.add(name)
    backup = r.string(m, "backup_before_loss", path,
                      fix="give a directory, e.g. .state/backups (relative to the project)")
    return DataProtection(allow_data_loss=frozenset(names), backup_before_loss=backup)
