import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from honnin.models import Resident
from honnin.my_number import open_my_number, seal_my_number
from honnin.selectors import resident_get_by_my_number, resident_my_number
from jukinet import crypto
from jukinet.crypto import DecryptionError, Keyring, KeyringError, blob_key_id

NUMBER = "983205673214"


def test_a_sealed_number_opens_again_and_the_blob_does_not_contain_it():
    keyring = Keyring.generate("k1")
    blob = keyring.encrypt(NUMBER, context="honnin.resident|12345678906")
    assert NUMBER.encode() not in blob
    assert keyring.decrypt(blob, context="honnin.resident|12345678906") == NUMBER
    assert blob_key_id(blob) == "k1"


def test_two_seals_of_one_number_differ_but_share_the_index():
    keyring = Keyring.generate()
    assert keyring.encrypt(NUMBER, context="c") != keyring.encrypt(NUMBER, context="c")
    assert keyring.index(NUMBER) == keyring.index(NUMBER)
    assert keyring.index(NUMBER) != keyring.index("621498320257")


def test_the_index_is_hmac_sha256_of_the_labelled_number_under_the_index_key():
    import hashlib
    import hmac

    keyring = Keyring.generate("k1")
    expected = hmac.new(keyring.index_key, b"my_number\x00983205673214", hashlib.sha256).digest()
    assert keyring.index("983205673214") == expected


def test_the_index_depends_on_the_secret_key():
    assert Keyring.generate().index(NUMBER) != Keyring.generate().index(NUMBER)


def test_a_blob_moved_to_another_row_does_not_decrypt():
    blob, _ = seal_my_number("12345678906", NUMBER)
    with pytest.raises(DecryptionError):
        open_my_number("23456789014", blob)


def test_a_tampered_blob_is_refused():
    keyring = Keyring.generate()
    blob = bytearray(keyring.encrypt(NUMBER, context="c"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        keyring.decrypt(bytes(blob), context="c")


def test_a_blob_under_an_unknown_key_is_refused():
    blob = Keyring.generate("other").encrypt(NUMBER, context="c")
    with pytest.raises(DecryptionError, match="unknown key id"):
        Keyring.generate("k1").decrypt(blob, context="c")


@pytest.mark.parametrize(
    "text",
    ["", "{}", "not json", '{"active": "a", "keys": {"a": "short"}, "index_key": "AAAA"}', '{"active": "x"}'],
)
def test_a_malformed_keyring_is_a_clear_error_without_key_material(text):
    with pytest.raises(KeyringError) as excinfo:
        Keyring.from_json(text)
    assert "short" not in str(excinfo.value)


def test_a_missing_key_file_is_a_clear_error(settings, tmp_path):
    settings.FIELD_KEYS_FILE = str(tmp_path / "absent.json")
    crypto.get_keyring.cache_clear()
    with pytest.raises(KeyringError, match="JUKINET_FIELD_KEYS"):
        crypto.get_keyring()


def test_keys_may_come_from_the_environment(monkeypatch):
    keyring = Keyring.generate("env1")
    monkeypatch.setenv("JUKINET_FIELD_KEYS", keyring.to_json())
    crypto.get_keyring.cache_clear()
    assert crypto.get_keyring().active_id == "env1"


def test_the_key_file_is_private(_test_keyring):
    assert _test_keyring.stat().st_mode & 0o077 == 0


def _store(code: str, number: str) -> Resident:
    blob, index = seal_my_number(code, number)
    return Resident.objects.create(
        juminhyo_code=code,
        name="佐藤　太郎",
        name_kana="サトウ　タロウ",
        name_seion="サトオタロオ",
        birth_date=dt.date(1985, 3, 1),
        sex="1",
        address="埼玉県川越市元町一丁目1番1号",
        change_reason="転入",
        changed_on=dt.date(2020, 4, 1),
        municipality_code="112011",
        stamped_at=timezone.now(),
        notified_on=dt.date(2020, 4, 2),
        update_seq=1,
        my_number=blob,
        my_number_index=index,
    )


@pytest.mark.django_db
def test_a_resident_is_found_by_my_number_through_the_index():
    resident = _store("12345678906", NUMBER)
    assert resident_get_by_my_number(my_number=NUMBER) == resident
    assert resident_get_by_my_number(my_number="621498320257") is None


@pytest.mark.django_db
def test_rotate_keys_re_encrypts_every_number_under_the_new_key(_test_keyring, capsys):
    residents = [_store("12345678906", NUMBER), _store("23456789014", "621498320257")]
    call_command("rotate_keys", "--new-key", "t2")
    output = capsys.readouterr().out
    assert "2 件" in output
    assert NUMBER not in output
    saved = json.loads(_test_keyring.read_text())
    assert saved["active"] == "t2" and set(saved["keys"]) == {"t1", "t2"}
    crypto.get_keyring.cache_clear()
    for resident in residents:
        resident.refresh_from_db()
        assert blob_key_id(bytes(resident.my_number)) == "t2"
    assert resident_my_number(resident=residents[0]) == NUMBER
    # The index does not change with the encryption key: look-ups keep working.
    assert resident_get_by_my_number(my_number="621498320257") == residents[1]
    # A second run has nothing left to do.
    call_command("rotate_keys")
    assert "0 件" in capsys.readouterr().out
