"""Public-key envelope encryption for files that leave the database: backups and contractor files.

Whoever writes or stores a sealed file holds only the recipient's PUBLIC key, so they can make
and keep the file but never read it; opening it needs the private key, which the セキュリティ管理者
keeps offline (docs/backups.md).

Format (all integers big-endian)::

    header  = magic "JKNTENV\\0" (8) | version 1 (1) | algorithm 1 (1) | chunk size (4)
              | key fingerprint = SHA-256 of the DER public key (32) | nonce prefix (7)
              | wrapped-key length (2) | wrapped key (RSA-OAEP-SHA256 of a fresh 256-bit data key)
    chunks  = AES-256-GCM(data key, nonce = prefix | index (4) | final (1),
                          aad = SHA-256(header) | index (8) | final (1)) of each plaintext chunk

Every chunk but the last holds exactly ``chunk size`` bytes of plaintext; the last holds 0..chunk
size (0 only for empty input) and is the only one sealed with final = 1. So a reordered chunk
fails (its index), a truncated file fails (the new last chunk was sealed as not final), bytes
appended fail (the real last chunk is then read as not final), and any changed byte fails its tag;
the header is bound into every chunk. Decryption yields a chunk only after its tag verified.
Memory stays at about two chunks whatever the size of the stream.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"JKNTENV\x00"
VERSION = 1
ALGORITHM_RSA_OAEP_AES_GCM = 1
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_CHUNK_SIZE = 16 << 20  # a hostile header must not make the reader allocate more
MIN_RSA_BITS = 3072
TAG_BYTES = 16
NONCE_PREFIX_BYTES = 7
_FIXED = struct.Struct(">8sBBI32s7sH")  # magic, version, algorithm, chunk size, fingerprint, prefix, wrapped len
_MAX_INDEX = 2**32 - 1
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class EnvelopeError(Exception):
    """A sealed file cannot be written or opened. The message is Japanese and holds no key or data."""

    code = "E_ENVELOPE"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code


class NotAnEnvelope(EnvelopeError):
    code = "E_ENVELOPE_FORMAT"


class KeyMismatch(EnvelopeError):
    code = "E_ENVELOPE_KEY_MISMATCH"


class KeyFileError(EnvelopeError):
    """A key file is missing, unreadable, of the wrong kind or too short."""

    code = "E_ENVELOPE_KEY"


class TamperedError(EnvelopeError):
    """Authentication failed: a changed, reordered, truncated or extended file."""

    code = "E_ENVELOPE_TAMPERED"


# --- Keys --------------------------------------------------------------------------------


def _check_rsa(key) -> None:
    if not isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        raise KeyFileError("鍵が RSA 鍵ではありません。")
    if key.key_size < MIN_RSA_BITS:
        raise KeyFileError(
            f"鍵の長さが {key.key_size} ビットです。{MIN_RSA_BITS} ビット以上の RSA 鍵を使ってください。"
        )


def fingerprint(public_key: rsa.RSAPublicKey) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo: names the key pair without revealing anything."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()


def fingerprint_text(value: bytes | rsa.RSAPublicKey) -> str:
    """``ab:cd:…`` (95 characters), the form the backup register stores and shows."""
    raw = value if isinstance(value, bytes) else fingerprint(value)
    return ":".join(f"{b:02x}" for b in raw)


def load_public_key(path: str | Path) -> rsa.RSAPublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise KeyFileError(f"公開鍵ファイル {path} を読めません。") from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise KeyFileError(f"公開鍵ファイル {path} は PEM 形式の公開鍵ではありません。") from None
    _check_rsa(key)
    return key


def load_private_key(path: str | Path, passphrase: bytes | None = None) -> rsa.RSAPrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise KeyFileError(f"秘密鍵ファイル {path} を読めません。") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        # Encrypted without a passphrase given, or a passphrase given for an unencrypted key.
        if passphrase:
            message = "この秘密鍵はパスフレーズで保護されていません。パスフレーズを指定せずに実行してください。"
        else:
            message = "秘密鍵がパスフレーズで保護されています。パスフレーズのファイルを指定してください。"
        raise KeyFileError(message) from None
    except ValueError:
        message = "秘密鍵を読めません（パスフレーズの誤り、または PEM 形式の秘密鍵ではありません）。"
        raise KeyFileError(message) from None
    _check_rsa(key)
    return key


def generate_private_key(bits: int = MIN_RSA_BITS) -> rsa.RSAPrivateKey:
    if bits < MIN_RSA_BITS:
        raise KeyFileError(f"{MIN_RSA_BITS} ビット以上の鍵を作成してください。")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_key_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- Sealing -----------------------------------------------------------------------------


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    if index > _MAX_INDEX:
        raise EnvelopeError("ファイルが大きすぎます（チャンク数の上限を超えました）。")
    return prefix + struct.pack(">IB", index, 1 if final else 0)


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">QB", index, 1 if final else 0)


def seal_stream(
    pieces: Iterable[bytes], public_key: rsa.RSAPublicKey, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[bytes]:
    """Yield the sealed file: the header, then one sealed chunk at a time.

    ``pieces`` may be of any sizes; they are regrouped into chunks of ``chunk_size``. Memory holds
    at most one chunk plus the largest piece.
    """
    _check_rsa(public_key)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise EnvelopeError("チャンクの大きさが範囲外です。")
    data_key = AESGCM.generate_key(256)
    prefix = os.urandom(NONCE_PREFIX_BYTES)
    wrapped = public_key.encrypt(data_key, _OAEP)
    header = (
        _FIXED.pack(
            MAGIC, VERSION, ALGORITHM_RSA_OAEP_AES_GCM, chunk_size, fingerprint(public_key), prefix, len(wrapped)
        )
        + wrapped
    )
    digest = hashlib.sha256(header).digest()
    aes = AESGCM(data_key)
    yield header
    buffer = bytearray()
    index = 0
    for piece in pieces:
        buffer += piece
        # Strictly greater: a full chunk is held back until it is known not to be the last one.
        while len(buffer) > chunk_size:
            chunk = bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
            yield aes.encrypt(_nonce(prefix, index, False), chunk, _aad(digest, index, False))
            index += 1
    yield aes.encrypt(_nonce(prefix, index, True), bytes(buffer), _aad(digest, index, True))


@dataclass(frozen=True)
class Written:
    size_bytes: int  # of the sealed file
    sha256: str  # hex, of the sealed file
    key_fingerprint: str  # fingerprint_text of the recipient key


def write_sealed(
    pieces: Iterable[bytes], public_key: rsa.RSAPublicKey, out: BinaryIO, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Written:
    """Seal ``pieces`` into ``out``, measuring the size and SHA-256 of what was written."""
    digest = hashlib.sha256()
    size = 0
    for block in seal_stream(pieces, public_key, chunk_size=chunk_size):
        out.write(block)
        digest.update(block)
        size += len(block)
    return Written(size, digest.hexdigest(), fingerprint_text(public_key))


# --- Opening -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    version: int
    algorithm: int
    chunk_size: int
    fingerprint: bytes
    nonce_prefix: bytes
    wrapped_key: bytes
    raw: bytes

    @property
    def fingerprint_text(self) -> str:
        return fingerprint_text(self.fingerprint)


def _read_exact(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream (pipes return short reads)."""
    parts, remaining = [], size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def read_header(source: BinaryIO) -> Header:
    fixed = _read_exact(source, _FIXED.size)
    if len(fixed) < _FIXED.size or not fixed.startswith(MAGIC):
        raise NotAnEnvelope("暗号化ファイルの形式ではありません（先頭の識別子が違います）。")
    _magic, version, algorithm, chunk_size, fp, prefix, wrapped_len = _FIXED.unpack(fixed)
    if version != VERSION or algorithm != ALGORITHM_RSA_OAEP_AES_GCM:
        raise NotAnEnvelope(f"対応していない暗号化ファイルの版です（版 {version}、方式 {algorithm}）。")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE or not 256 <= wrapped_len <= 2048:
        raise NotAnEnvelope("暗号化ファイルのヘッダが壊れています。")
    wrapped = _read_exact(source, wrapped_len)
    if len(wrapped) < wrapped_len:
        raise NotAnEnvelope("暗号化ファイルのヘッダが途中で切れています。")
    return Header(version, algorithm, chunk_size, fp, prefix, wrapped, fixed + wrapped)


def open_stream(source: BinaryIO, private_key: rsa.RSAPrivateKey) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each only after it verified.

    Raises KeyMismatch (a file sealed for another key), TamperedError (anything changed, missing
    or added) or NotAnEnvelope. A consumer that streams the chunks onward must treat everything
    it received as void when an error is raised part-way (restore does: a fresh database, dropped).
    """
    _check_rsa(private_key)
    header = read_header(source)
    own = fingerprint(private_key.public_key())
    if header.fingerprint != own:
        raise KeyMismatch(
            "この秘密鍵では開けません。ファイルは別の鍵で暗号化されています"
            f"（ファイルの鍵 {header.fingerprint_text[:23]}…、指定した鍵 {fingerprint_text(own)[:23]}…）。"
        )
    try:
        data_key = private_key.decrypt(header.wrapped_key, _OAEP)
    except ValueError:
        raise TamperedError("データ鍵を復号できません（ヘッダが改ざんされています）。") from None
    if len(data_key) != 32:
        raise TamperedError("データ鍵の長さが不正です。")
    aes = AESGCM(data_key)
    digest = hashlib.sha256(header.raw).digest()
    full = header.chunk_size + TAG_BYTES
    block = _read_exact(source, full)
    index = 0
    while True:
        following = _read_exact(source, full) if len(block) == full else b""
        final = not following
        if len(block) < TAG_BYTES:
            raise TamperedError("暗号化ファイルが途中で切れています。")
        try:
            yield aes.decrypt(_nonce(header.nonce_prefix, index, final), block, _aad(digest, index, final))
        except InvalidTag:
            raise TamperedError(
                f"暗号化ファイルの第{index + 1}ブロックを検証できません"
                "（改ざん、順序の入れ替え、切り詰め、または追加）。"
            ) from None
        if final:
            return
        block, index = following, index + 1


def iter_file(source: BinaryIO, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """A binary stream as pieces of at most ``size`` bytes."""
    while True:
        piece = source.read(size)
        if not piece:
            return
        yield piece
