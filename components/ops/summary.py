"""A stack's outputs in a few lines, for the end of ``make up``.

    scripts/pulumi.sh dev stack output --json | python -m components.ops.summary

Pulumi prints every nested output value after an ``up``; with a few tenants that is over a hundred
lines. ``make up`` suppresses that listing and prints this instead: one line per output key, with
counts and names for maps, and where the stack wrote each tenant's client files. Secrets are not
read (the JSON comes without ``--show-secrets``, secrets are ``[secret]``) and never printed.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

MAX_NAMES = 6


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_NAMES])
    return shown + (f", … ({len(keys)} in all)" if len(keys) > MAX_NAMES else "")


def _client_dir(tenants: dict[str, Any]) -> Optional[str]:
    """The folder holding ``<tenant>/`` client files, when every tenant's files live under one."""
    parents = set()
    for tid, entry in tenants.items():
        paths = list((entry.get("contexts") or {}).values()) if isinstance(entry, dict) else []
        for path in paths:
            if isinstance(path, str):
                tenant_dir = os.path.dirname(os.path.dirname(path))
                if os.path.basename(tenant_dir) == tid:
                    parents.add(os.path.dirname(tenant_dir))
    return parents.pop() if len(parents) == 1 else None


def _line(key: str, value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return str(value)
    if key == "tenants" and isinstance(value, dict):
        where = _client_dir(value)
        files = f"; creds, natscli contexts and producer templates in {where}/<tenant>/" if where else ""
        return f"{len(value)}: {_names(sorted(value))}{files}"
    if key == "leafnodes" and isinstance(value, dict):
        archives = [str(v.get("archive")) for v in value.values() if isinstance(v, dict)]
        return f"{len(value)}: " + (_names(archives) if archives else "none")
    if isinstance(value, dict):
        return f"{len(value)} entries: {_names(sorted(value))}" if value else "none"
    if isinstance(value, list):
        return f"{len(value)} items"
    return type(value).__name__


def render(outputs: dict[str, Any], stack: str = "") -> str:
    """One line per output key, widest key first in alignment; ends with how to see everything."""
    width = max((len(k) for k in outputs), default=0)
    lines = ["Outputs:"] + [f"    {k.ljust(width)}  {_line(k, outputs[k])}" for k in sorted(outputs)]
    lines.append(f"All values: scripts/pulumi.sh {stack or '<stack>'} stack output --json [--show-secrets]")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    stack = args[0] if args else ""
    text = sys.stdin.read()
    try:
        outputs = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        print(f"error: stack outputs are not JSON ({exc}): pipe `stack output --json` into this", file=sys.stderr)
        return 1
    sys.stdout.write(render(outputs, stack))
    return 0


if __name__ == "__main__":
    sys.exit(main())
