"""Engine snapshots compressed for the state store, tagged with their codec.

A snapshot is a header line and JSON (hundreds of kB for a busy tenant); zstd and zlib both take
it to a fifth or less. The first byte names the codec, so a job restarted with another ``--codec``
still reads what it stored before.
"""

from __future__ import annotations

import zlib

try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover - zlib (standard library) is always there
    _zstd = None

__all__ = ["CODECS", "default_codec", "pack", "unpack"]

CODECS = ("zstd", "zlib", "none")
_TAGS = {"zstd": b"s", "zlib": b"z", "none": b"n"}


def default_codec() -> str:
    """zstd when ``zstandard`` is installed (pinned in requirements.txt), else zlib."""
    return "zstd" if _zstd is not None else "zlib"


def pack(snapshot: bytes, codec: str) -> bytes:
    """``snapshot`` compressed with ``codec`` (``zstd``, ``zlib`` or ``none``), tag first."""
    if codec == "zstd":
        if _zstd is None:
            raise ValueError("codec zstd needs the zstandard package (pip install zstandard)")
        return b"s" + _zstd.ZstdCompressor(level=3).compress(snapshot)
    if codec == "zlib":
        return b"z" + zlib.compress(snapshot, 6)
    if codec == "none":
        return b"n" + snapshot
    raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")


def unpack(blob: bytes) -> bytes:
    """The snapshot inside ``blob`` (from :func:`pack`, any codec); ``ValueError`` when damaged."""
    tag, body = bytes(blob[:1]), bytes(blob[1:])
    try:
        if tag == b"s":
            if _zstd is None:
                raise ValueError("state compressed with zstd; install the zstandard package")
            return _zstd.ZstdDecompressor().decompress(body)
        if tag == b"z":
            return zlib.decompress(body)
    except (zlib.error, getattr(_zstd, "ZstdError", zlib.error)) as error:
        raise ValueError(f"damaged snapshot: {error}") from error
    if tag == b"n":
        return body
    raise ValueError(f"unknown snapshot codec tag {tag!r}")
