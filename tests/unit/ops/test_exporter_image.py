"""deploy/exporter/Dockerfile can run what the kubernetes manifests ask of it.

The image cannot be built here, so what it relies on is checked instead: the same prometheus-client
pin as requirements.txt, the package copied under the module path the manifests start, and an
exporter module that needs nothing beyond the standard library and prometheus-client (the image
installs nothing else).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from components.model.render import k8s_manifests as km

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "deploy" / "exporter" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def pin(requirements: str, package: str) -> str:
    for line in requirements.splitlines():
        name, sep, version = line.partition("==")
        if sep and name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_base_image_and_pinned_client() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    version = pin((ROOT / "requirements.txt").read_text(), "prometheus-client")
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert f"prometheus-client=={version}" in runs
    assert re.findall(r"pip install[^&;]*", runs) == [f"pip install --no-cache-dir prometheus-client=={version}"]


def test_copies_the_package_the_manifests_start() -> None:
    steps = dict((w, a) for w, a in instructions() if w in ("WORKDIR", "COPY", "USER", "ENTRYPOINT"))
    assert steps["COPY"] == "components/ /app/components/"
    assert steps["WORKDIR"] == "/app"
    assert "PYTHONPATH=/app" in " ".join(a for w, a in instructions() if w == "ENV")
    assert json.loads(steps["ENTRYPOINT"]) == ["python", "-m", km.EXPORTER_MODULE]
    # runAsNonRoot in the manifests needs a numeric, non-zero user in the image
    uid = steps["USER"].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_exporter_needs_only_the_standard_library_and_prometheus_client() -> None:
    # modules loaded by the interpreter's start-up (site, .pth files) are not the exporter's doing
    probe = ("import json, sys\n"
             "before = set(sys.modules)\n"
             f"import {km.EXPORTER_MODULE}\n"
             "top = {m.split('.')[0] for m in set(sys.modules) - before}\n"
             "print(json.dumps(sorted(top - set(sys.stdlib_module_names) - set(sys.builtin_module_names))))\n")
    res = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    third_party = set(json.loads(res.stdout)) - {"components", "__main__"}
    assert third_party == {"prometheus_client"}, third_party


def test_build_context_is_only_the_package() -> None:
    lines = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert patterns[0] == "*" and "!components/" in patterns
