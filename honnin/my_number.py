"""The one place that seals and opens a resident's 個人番号.

The associated data binds each ciphertext to the file and the 住民票コード of its row, so
a blob copied onto another person's row fails authentication instead of decrypting.
"""

from jukinet.crypto import Keyring, get_keyring


def my_number_context(juminhyo_code: str) -> str:
    return f"honnin.resident|{juminhyo_code}"


def seal_my_number(juminhyo_code: str, my_number: str, *, keyring: Keyring | None = None) -> tuple[bytes, bytes]:
    """Return (ciphertext, HMAC index) for storage."""
    keyring = keyring or get_keyring()
    return keyring.encrypt(my_number, context=my_number_context(juminhyo_code)), keyring.index(my_number)


def open_my_number(juminhyo_code: str, blob: bytes, *, keyring: Keyring | None = None) -> str:
    keyring = keyring or get_keyring()
    return keyring.decrypt(blob, context=my_number_context(juminhyo_code))


def my_number_index(my_number: str, *, keyring: Keyring | None = None) -> bytes:
    return (keyring or get_keyring()).index(my_number)
