"""Write a rendered bundle to disk: the only part of ``model`` that touches the file system.

Everything else in ``model`` is pure; bundles (customer leaf nodes) end up as files someone hands
over, so this module writes ``{relative path: text}`` as a directory plus a ``.tar.gz`` next to it.
The archive is byte-for-byte reproducible (sorted entries, fixed mtime, owner and modes, no gzip
name or timestamp), so re-running ``pulumi up`` with unchanged inputs yields the same file and the
same checksum. Credentials (``*.creds``) get mode 0600 on disk and in the archive.
"""
from __future__ import annotations

import gzip
import io
import os
import posixpath
import tarfile

FIXED_MTIME = 0
SECRET_SUFFIXES = (".creds", ".nk", ".seed")


def _mode(path: str) -> int:
    return 0o600 if path.endswith(SECRET_SUFFIXES) else 0o644


def _check_paths(files: dict[str, str]) -> None:
    for path in files:
        norm = posixpath.normpath(path)
        if not path or path.startswith("/") or norm != path or norm.startswith("..") or "\\" in path:
            raise ValueError(f"bundle path {path!r} must be a plain relative path (no '..', no leading '/')")


def _write_file(path: str, text: str, mode: int) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # an existing file keeps its old mode through O_CREAT
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def tar_gz_bytes(files: dict[str, str], top: str) -> bytes:
    """The reproducible archive of ``files`` under the folder ``top``."""
    _check_paths(files)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        dirs = {top} | {posixpath.join(top, d) for p in files for d in _parents(p)}
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o700
            _fix_owner(info)
            tar.addfile(info)
        for path in sorted(files):
            data = files[path].encode("utf-8")
            info = tarfile.TarInfo(posixpath.join(top, path))
            info.size = len(data)
            info.mode = _mode(path)
            _fix_owner(info)
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=9, mtime=FIXED_MTIME) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _fix_owner(info: tarfile.TarInfo) -> None:
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""


def write_bundle(files: dict[str, str], directory: str) -> tuple[str, str]:
    """Write ``files`` into ``directory`` and ``<directory>.tar.gz``; return both paths.

    Files of an earlier bundle that are no longer part of it are left alone: the directory is
    expected to belong to this bundle only, and deleting on a guess is worse than a stale file.
    """
    _check_paths(files)
    directory = os.path.abspath(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for path in sorted(files):
        _write_file(os.path.join(directory, *path.split("/")), files[path], _mode(path))
    archive = directory.rstrip(os.sep) + ".tar.gz"
    data = tar_gz_bytes(files, os.path.basename(directory))
    tmp = archive + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, archive)
    return directory, archive
