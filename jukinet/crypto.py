"""個人番号 at rest: AES-256-GCM with the key id inside the ciphertext, and an HMAC index.

Blob layout (bytes): ``0x01 | len(key_id) | key_id | nonce(12) | ciphertext+tag``.
The key id travels with the ciphertext so that keys can rotate: ``manage.py rotate_keys``
re-encrypts every blob whose key id is not the active one. The associated data binds a
blob to its purpose and row (e.g. ``honnin.resident|<住民票コード>``), so a ciphertext
copied onto another row does not decrypt.

The exact-match index is HMAC-SHA256 under a separate key held outside the database: with
only 10^11 valid numbers a plain hash would fall to brute force in minutes.

Keys come from ``JUKINET_FIELD_KEYS`` (JSON) or the key file ``JUKINET_FIELD_KEYS_FILE``;
the development key file is created by ``scripts/devservices.py`` under ``var/keys/``.
"""

import base64
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BLOB_VERSION = 1
NONCE_BYTES = 12


class KeyringError(Exception):
    """The keyring is missing or malformed. Never carries key material or plaintext."""


class DecryptionError(Exception):
    """A blob could not be decrypted (unknown key id, tampered data, wrong row)."""


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]
    index_key: bytes

    def __post_init__(self):
        if self.active_id not in self.keys:
            raise KeyringError("active key id is not among the keys")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise KeyringError(f"key {key_id!r} must be 256 bits")
            if not key_id or len(key_id.encode()) > 64 or not key_id.isascii():
                raise KeyringError("key ids must be short ASCII strings")
        if len(self.index_key) < 32:
            raise KeyringError("index key must be at least 256 bits")

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> "Keyring":
        try:
            data = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            return cls(active_id=str(data["active"]), keys=keys, index_key=base64.b64decode(data["index_key"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"malformed keyring ({type(exc).__name__})") from None

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active_id,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
                "index_key": base64.b64encode(self.index_key).decode(),
            },
            indent=2,
        )

    @classmethod
    def generate(cls, key_id: str = "k1") -> "Keyring":
        return cls(active_id=key_id, keys={key_id: AESGCM.generate_key(256)}, index_key=secrets.token_bytes(32))

    def with_new_active_key(self, key_id: str) -> "Keyring":
        if key_id in self.keys:
            raise KeyringError("key id already used")
        return Keyring(active_id=key_id, keys={**self.keys, key_id: AESGCM.generate_key(256)}, index_key=self.index_key)

    # -- use ------------------------------------------------------------------------
    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        key_id = self.active_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_id]).encrypt(nonce, plaintext.encode(), context.encode())
        return bytes([BLOB_VERSION, len(key_id)]) + key_id + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        blob = bytes(blob)
        key_id = blob_key_id(blob)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError("unknown key id")
        start = 2 + len(key_id.encode())
        nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return AESGCM(key).decrypt(nonce, sealed, context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None

    def index(self, value: str) -> bytes:
        # hmac.digest: one OpenSSL call, several times faster than hmac.new(...).digest() for the
        # same bytes; bulk paths (整合性確認, batch provision) index a million numbers.
        return hmac.digest(self.index_key, b"my_number\x00" + value.encode(), "sha256")


def blob_key_id(blob: bytes) -> str:
    blob = bytes(blob)
    if len(blob) < 2 + NONCE_BYTES + 16 or blob[0] != BLOB_VERSION:
        raise DecryptionError("not a jukinet ciphertext")
    length = blob[1]
    return blob[2 : 2 + length].decode("ascii", errors="replace")


def load_keyring_from_environment() -> Keyring:
    from django.conf import settings

    inline = os.environ.get("JUKINET_FIELD_KEYS")
    if inline:
        return Keyring.from_json(inline)
    path = Path(settings.FIELD_KEYS_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise KeyringError(
            f"no 個人番号 keyring: set JUKINET_FIELD_KEYS or create {path} (make up creates a development one)"
        ) from None
    return Keyring.from_json(text)


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    return load_keyring_from_environment()


def write_keyring_file(path: Path, keyring: Keyring) -> None:
    """Write atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(keyring.to_json())
    os.replace(tmp, path)
