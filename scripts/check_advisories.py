"""Check exact pins of lock files against security/advisories.txt, offline.

usage: python scripts/check_advisories.py requirements-edge.txt [more locks...]
Prints each pin that an advisory covers and exits 1 when there is one. `make test` runs the
same check through tests/test_edge_env.py; `make audit` asks PyPI's advisory service as well.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
ADVISORIES = REPO / "security" / "advisories.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a (pip-compile) lock."""
    found = {}
    for line in lock.read_text().splitlines():
        if m := PIN.match(line.strip()):
            found[canonical(m.group(1))] = m.group(2)
    return found


def advisories(path: Path = ADVISORIES) -> list[tuple[str, SpecifierSet, str, str]]:
    """(package, affected versions, id, summary) for each line of the advisory list."""
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, spec, ident, summary = line.split(None, 3)
        rows.append((canonical(name), SpecifierSet(spec), ident, summary))
    return rows


def findings(lock: Path, path: Path = ADVISORIES) -> list[str]:
    """One line per pinned version that an advisory covers."""
    pinned = pins(lock)
    out = []
    for name, spec, ident, summary in advisories(path):
        version = pinned.get(name)
        if version is not None and spec.contains(Version(version), prereleases=True):
            out.append(f"{lock.name}: {name}=={version} {ident} ({spec}): {summary}")
    return out


def main(argv: list[str]) -> int:
    bad = [f for lock in argv for f in findings(Path(lock))]
    for line in bad:
        print(line)
    if not bad:
        print(f"no pin of {', '.join(argv)} matches {ADVISORIES.relative_to(REPO)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["requirements-edge.txt"]))
