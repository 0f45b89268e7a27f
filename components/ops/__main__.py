"""``python -m components.ops exporter|backup …``: one entry point for the operations tools."""
from __future__ import annotations

import sys

USAGE = "usage: python -m components.ops {exporter|backup} [args...]"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("exporter", "backup"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "exporter":
        from components.ops import exporter
        return exporter.main(argv[1:])
    from components.ops import backup
    return backup.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
