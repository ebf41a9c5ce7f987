"""jukinet.envelope: public-key envelope encryption of streams (backups, contractor files)."""

import io
import os
import resource
import struct

import pytest

from jukinet import envelope

CHUNK = 1024  # small chunks so that a few KB exercise many of them


@pytest.fixture(scope="module")
def key():
    return envelope.generate_private_key(3072)


@pytest.fixture(scope="module")
def other_key():
    return envelope.generate_private_key(3072)


def seal(data: bytes, key, *, chunk_size: int = CHUNK, pieces: int = 333) -> bytes:
    parts = [data[i : i + pieces] for i in range(0, len(data), pieces)]
    return b"".join(envelope.seal_stream(parts, key.public_key(), chunk_size=chunk_size))


def unseal(sealed: bytes, key) -> bytes:
    return b"".join(envelope.open_stream(io.BytesIO(sealed), key))


def header_size(sealed: bytes) -> int:
    return len(envelope.read_header(io.BytesIO(sealed)).raw)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 7])
def test_a_sealed_stream_opens_to_the_same_bytes_whatever_its_length(key, size):
    data = os.urandom(size)
    sealed = seal(data, key)
    assert unseal(sealed, key) == data
    assert len(data) < 16 or data[:16] not in sealed  # no plaintext run shows through


def test_empty_input_is_a_header_and_one_empty_final_chunk(key):
    sealed = seal(b"", key)
    assert len(sealed) == header_size(sealed) + envelope.TAG_BYTES
    assert unseal(sealed, key) == b""


def test_the_header_names_the_key_by_the_sha256_of_its_der_public_key(key):
    import hashlib

    from cryptography.hazmat.primitives import serialization

    sealed = seal(b"x", key)
    header = envelope.read_header(io.BytesIO(sealed))
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert header.fingerprint == hashlib.sha256(der).digest()
    assert header.fingerprint_text == envelope.fingerprint_text(key.public_key())
    assert len(header.fingerprint_text) == 95 and header.fingerprint_text.count(":") == 31
    assert header.chunk_size == CHUNK and header.version == 1 and sealed.startswith(envelope.MAGIC)


def test_two_seals_of_the_same_data_differ(key):
    data = b"same data" * 100
    assert seal(data, key) != seal(data, key)  # a fresh data key and nonce prefix per file


def test_the_wrong_private_key_is_refused_by_fingerprint_before_any_output(key, other_key):
    sealed = seal(b"secret" * 500, key)
    stream = envelope.open_stream(io.BytesIO(sealed), other_key)
    with pytest.raises(envelope.KeyMismatch) as caught:
        next(stream)
    assert caught.value.code == "E_ENVELOPE_KEY_MISMATCH"
    assert "別の鍵" in caught.value.message


def test_a_forged_fingerprint_does_not_let_another_key_unwrap_the_data_key(key, other_key):
    sealed = bytearray(seal(b"secret" * 500, key))
    # Claim the other key's fingerprint: the unwrap with that key then fails as tampering.
    fp_at = 8 + 1 + 1 + 4
    sealed[fp_at : fp_at + 32] = envelope.fingerprint(other_key.public_key())
    with pytest.raises(envelope.TamperedError):
        unseal(bytes(sealed), other_key)


@pytest.mark.parametrize("where", ["first_chunk", "middle_chunk", "last_tag", "header_prefix", "chunk_size_field"])
def test_a_changed_byte_anywhere_is_detected(key, where):
    data = os.urandom(4 * CHUNK + 100)
    sealed = bytearray(seal(data, key))
    start = header_size(bytes(sealed))
    position = {
        "first_chunk": start + 10,
        "middle_chunk": start + 2 * (CHUNK + 16) + 500,
        "last_tag": len(sealed) - 1,
        "header_prefix": 8 + 1 + 1 + 4 + 32 + 3,  # the nonce prefix
        "chunk_size_field": 8 + 1 + 1 + 3,
    }[where]
    sealed[position] ^= 0x01
    with pytest.raises(envelope.EnvelopeError):
        unseal(bytes(sealed), key)


def test_tampering_is_reported_only_after_the_verified_chunks_before_it(key):
    data = os.urandom(4 * CHUNK)
    sealed = bytearray(seal(data, key))
    start = header_size(bytes(sealed))
    sealed[start + 2 * (CHUNK + 16) + 5] ^= 0xFF
    received = []
    with pytest.raises(envelope.TamperedError) as caught:
        for part in envelope.open_stream(io.BytesIO(bytes(sealed)), key):
            received.append(part)
    assert b"".join(received) == data[: 2 * CHUNK]  # nothing unverified was ever yielded
    assert "第3ブロック" in caught.value.message


@pytest.mark.parametrize("cut", ["one_chunk", "mid_chunk", "to_header", "one_byte"])
def test_a_truncated_file_is_detected(key, cut):
    data = os.urandom(3 * CHUNK + 10)
    sealed = seal(data, key)
    start = header_size(sealed)
    length = {
        "one_chunk": len(sealed) - (10 + 16),  # drop the whole final chunk: the rest ends on a boundary
        "mid_chunk": start + CHUNK + 16 + 100,
        "to_header": start,
        "one_byte": len(sealed) - 1,
    }[cut]
    with pytest.raises(envelope.TamperedError):
        unseal(sealed[:length], key)


def test_a_file_truncated_exactly_at_a_chunk_boundary_with_full_chunks_is_detected(key):
    data = os.urandom(4 * CHUNK)  # the last chunk is a full one
    sealed = seal(data, key)
    with pytest.raises(envelope.TamperedError):
        unseal(sealed[: len(sealed) - (CHUNK + 16)], key)


def test_reordered_chunks_are_detected(key):
    data = os.urandom(3 * CHUNK + 5)
    sealed = seal(data, key)
    start, full = header_size(sealed), CHUNK + 16
    chunks = [sealed[start + i * full : start + (i + 1) * full] for i in range(4)]
    swapped = sealed[:start] + chunks[1] + chunks[0] + chunks[2] + chunks[3]
    assert len(swapped) == len(sealed)
    with pytest.raises(envelope.TamperedError):
        unseal(swapped, key)


def test_a_duplicated_chunk_and_appended_bytes_are_detected(key):
    data = os.urandom(2 * CHUNK + 5)
    sealed = seal(data, key)
    start, full = header_size(sealed), CHUNK + 16
    first = sealed[start : start + full]
    with pytest.raises(envelope.TamperedError):
        unseal(sealed[:start] + first + sealed[start:], key)
    with pytest.raises(envelope.TamperedError):
        unseal(sealed + b"\x00", key)
    with pytest.raises(envelope.TamperedError):
        unseal(sealed + sealed[-(5 + 16) :], key)


def test_a_chunk_from_another_file_under_the_same_key_does_not_fit(key):
    a, b = seal(os.urandom(2 * CHUNK), key), seal(os.urandom(2 * CHUNK), key)
    start = header_size(a)
    spliced = a[:start] + b[start : start + CHUNK + 16] + a[start + CHUNK + 16 :]
    with pytest.raises(envelope.TamperedError):
        unseal(spliced, key)


@pytest.mark.parametrize(
    "data",
    [b"", b"JKNT", b"PK\x03\x04" + b"\x00" * 100, envelope.MAGIC + b"\x09" + b"\x00" * 60],
    ids=["empty", "short", "zip", "future_version"],
)
def test_something_that_is_not_an_envelope_is_refused_clearly(key, data):
    with pytest.raises(envelope.NotAnEnvelope):
        unseal(data, key)


def test_a_hostile_header_cannot_ask_for_a_huge_chunk(key):
    sealed = bytearray(seal(b"abc", key))
    sealed[10:14] = struct.pack(">I", 2**31)
    with pytest.raises(envelope.NotAnEnvelope):
        unseal(bytes(sealed), key)


def test_keys_shorter_than_3072_bits_are_refused(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(envelope.KeyFileError):
        list(envelope.seal_stream([b"x"], short.public_key()))
    path = tmp_path / "short.pem"
    path.write_bytes(envelope.public_key_pem(short.public_key()))
    with pytest.raises(envelope.KeyFileError):
        envelope.load_public_key(path)
    with pytest.raises(envelope.KeyFileError):
        envelope.generate_private_key(2048)


def test_a_passphrase_protected_private_key_opens_only_with_its_passphrase(key, tmp_path):
    path = tmp_path / "private.pem"
    path.write_bytes(envelope.private_key_pem(key, b"correct horse"))
    sealed = seal(b"data" * 300, key)
    assert unseal(sealed, envelope.load_private_key(path, b"correct horse")) == b"data" * 300
    with pytest.raises(envelope.KeyFileError, match="パスフレーズ"):
        envelope.load_private_key(path)
    with pytest.raises(envelope.KeyFileError, match="パスフレーズ"):
        envelope.load_private_key(path, b"wrong")
    with pytest.raises(envelope.KeyFileError, match="読めません"):
        envelope.load_private_key(tmp_path / "missing.pem")


def test_write_sealed_reports_the_size_and_sha256_of_what_it_wrote(key):
    import hashlib

    out = io.BytesIO()
    written = envelope.write_sealed([b"a" * 5000], key.public_key(), out, chunk_size=CHUNK)
    assert written.size_bytes == len(out.getvalue())
    assert written.sha256 == hashlib.sha256(out.getvalue()).hexdigest()
    assert written.key_fingerprint == envelope.fingerprint_text(key.public_key())


class _Generated(io.RawIOBase):
    """A large pseudo-random stream produced on the fly (nothing of it is kept)."""

    def __init__(self, total: int):
        self.left = total
        self.block = os.urandom(1 << 20)

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left, len(self.block))
        buffer[:n] = self.block[:n]
        self.left -= n
        return n


class _Sink:
    """Hashes what passes through without keeping it."""

    def __init__(self):
        import hashlib

        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_large_stream_is_sealed_and_opened_with_bounded_memory(key, tmp_path):
    import hashlib

    total = 256 << 20  # 256 MiB through both directions
    path = tmp_path / "large.jkenc"
    before = _max_rss_mb()
    source_digest = hashlib.sha256()

    def pieces():
        for piece in envelope.iter_file(io.BufferedReader(_Generated(total)), 1 << 20):
            source_digest.update(piece)
            yield piece

    with path.open("wb") as out:
        written = envelope.write_sealed(pieces(), key.public_key(), out)
    assert written.size_bytes > total
    sink = _Sink()
    with path.open("rb") as source:
        for part in envelope.open_stream(source, key):
            sink.write(part)
    assert sink.size == total and sink.digest.hexdigest() == source_digest.hexdigest()
    # Peak memory grew by a few chunks at most, not by the size of the stream.
    assert _max_rss_mb() - before < 64
