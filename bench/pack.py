"""Git objects written straight into one pack file, for branches too long to write any other
way in a benchmark.

A snapshot's `rows.json` differs from the one before by a line or two. Handed to git one
by one (`git fast-import`, or loose objects and `git gc`), each 2-4 MB version is searched
for a delta of its own (4 minutes for 10,000 versions here). The writer of the branch
knows where the version changed, so it writes that delta itself: copy the bytes before
the change, insert the new ones, copy the rest. `git index-pack` then checks every object
and indexes the pack, as it does for a fetched one. Object ids are computed with the
store's own `object_id`.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

from auditor.store.gitstore import object_id

TYPES = {"commit": 1, "tree": 2, "blob": 3}
OFS_DELTA = 6
MAX_DEPTH = 50
"""Git's own default `pack.depth`: every 51st version of a file is stored whole."""


@dataclass(frozen=True)
class Splice:
    """A version of a file made from the one before: `removed` bytes at `start` replaced
    by `inserted`."""

    start: int
    removed: int
    inserted: bytes


@dataclass
class _Stored:
    offset: int
    size: int
    depth: int


class PackWriter:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.path = repo / ".git" / "objects" / "pack" / "tmp-bench.pack"
        self.file = self.path.open("wb")
        self.file.write(b"PACK" + struct.pack(">II", 2, 0))
        self.stored: dict[str, _Stored] = {}

    def whole(self, kind: str, data: bytes) -> str:
        sha = object_id(kind, data)
        if sha not in self.stored:
            self._write(sha, TYPES[kind], data, b"", len(data), 0)
        return sha

    def version(self, data: bytes, base: str | None, splice: Splice | None) -> str:
        """A blob, as a delta of the blob `base` where `splice` makes it from that one."""
        sha = object_id("blob", data)
        before = self.stored.get(base) if base else None
        if sha in self.stored or before is None or splice is None or before.depth >= MAX_DEPTH:
            return self.whole("blob", data)
        end = splice.start + splice.removed
        delta = (
            _varint(before.size)
            + _varint(len(data))
            + _copy(0, splice.start)
            + _insert(splice.inserted)
            + _copy(end, before.size - end)
        )
        distance = self.file.tell() - before.offset
        self._write(sha, OFS_DELTA, delta, _offset(distance), len(data), before.depth + 1)
        return sha

    def _write(
        self, sha: str, kind: int, data: bytes, prefix: bytes, size: int, depth: int
    ) -> None:
        offset = self.file.tell()
        self.file.write(_header(kind, len(data)) + prefix + zlib.compress(data))
        self.stored[sha] = _Stored(offset, size, depth)

    def finish(self) -> None:
        """The object count and checksum written in, and the pack indexed and checked by
        git, as a fetched pack is."""
        self.file.seek(8)
        self.file.write(struct.pack(">I", len(self.stored)))
        self.file.close()
        checksum = hashlib.sha1()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                checksum.update(chunk)
        with self.path.open("ab") as handle:
            handle.write(checksum.digest())
        with self.path.open("rb") as handle:
            subprocess.run(
                ["git", "index-pack", "--stdin"],
                cwd=self.repo,
                stdin=handle,
                stdout=subprocess.DEVNULL,
                check=True,
            )
        self.path.unlink()


def _header(kind: int, size: int) -> bytes:
    out = bytearray()
    byte = kind << 4 | size & 0x0F
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def _offset(distance: int) -> bytes:
    """An OFS_DELTA's distance back to its base, in git's own big-endian varint."""
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | distance & 0x7F)
        distance >>= 7
    return bytes(reversed(out))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(0x80 | value & 0x7F)
        value >>= 7
    out.append(value)
    return bytes(out)


def _copy(offset: int, size: int) -> bytes:
    """A delta instruction copying `size` bytes of the base from `offset` (under 16 MiB)."""
    if size == 0:
        return b""
    op, args = 0x80, bytearray()
    for bit, value, count in ((0x01, offset, 4), (0x10, size, 3)):
        for index in range(count):
            byte = value >> 8 * index & 0xFF
            if byte:
                op |= bit << index
                args.append(byte)
    return bytes([op]) + bytes(args)


def _insert(data: bytes) -> bytes:
    return b"".join(
        bytes([len(data[at : at + 127])]) + data[at : at + 127] for at in range(0, len(data), 127)
    )
