"""A gzip stream is decoded a bounded piece at a time, whatever it decodes to."""

from __future__ import annotations

import zlib

from bedrock_finops.sources.log_decoding import GzipStream


def _bomb(size: int) -> bytes:
    """``size`` bytes of ``x`` and no line break, gzipped: ~1,000 times smaller."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([*(z.compress(b"x" * (1 << 20)) for _ in range(size >> 20)), z.flush()])


def test_the_gzip_decoder_gives_a_bomb_in_bounded_pieces():
    """33 KB that decompress to 32 MiB come out 16 MiB at a time, not in one piece."""
    data = _bomb(32 << 20)
    assert len(data) < 40_000
    pieces = [len(piece) for piece in GzipStream().feed(data)]
    assert sum(pieces) == 32 << 20
    assert max(pieces) == 16 << 20  # log_decoding.PIECE_BYTES
