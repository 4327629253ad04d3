"""Master key handling, subkeys, and field sealing."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientfolio.adapters.crypto import (MASTER_KEY_BYTES, FieldCipher, Keyring, decode_master_key,
                                         encode_master_key, generate_master_key, read_key_file, write_key_file)
from clientfolio.domain.errors import IntegrityFailure, InvalidInput, WrongKey

KEY = bytes(range(32))


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(Keyring(KEY))


# -- master key text --------------------------------------------------------------------------------

def test_generate_master_key_is_random_and_32_bytes():
    a, b = generate_master_key(), generate_master_key()
    assert len(a) == MASTER_KEY_BYTES == 32 and a != b


@given(st.binary(min_size=32, max_size=32))
def test_encode_decode_round_trip(key):
    text = encode_master_key(key)
    assert "=" not in text and "+" not in text and "/" not in text
    assert decode_master_key(text) == key
    assert decode_master_key(f"  {text}\n") == key  # whitespace from files and env vars is ignored
    assert decode_master_key(text + "=") == key  # padded form accepted too


@pytest.mark.parametrize("text", ["", "not base64!", "abc", encode_master_key(KEY)[:-4], encode_master_key(KEY) + "AAAA"])
def test_decode_rejects_malformed_or_wrong_length_without_echoing(text):
    with pytest.raises(WrongKey) as info:
        decode_master_key(text)
    if len(text) > 3:
        assert text.strip() not in info.value.message


def test_encode_rejects_wrong_length():
    with pytest.raises(InvalidInput):
        encode_master_key(b"short")


# -- key file ---------------------------------------------------------------------------------------

def test_key_file_is_0600_and_round_trips(tmp_path):
    path = tmp_path / "master.key"
    write_key_file(path, KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == KEY


def test_key_file_refuses_to_overwrite(tmp_path):
    path = tmp_path / "master.key"
    write_key_file(path, KEY)
    with pytest.raises(InvalidInput, match="refusing to overwrite"):
        write_key_file(path, generate_master_key())
    assert read_key_file(path) == KEY


def test_read_key_file_refuses_wide_permissions(tmp_path):
    path = tmp_path / "master.key"
    write_key_file(path, KEY)
    os.chmod(path, 0o644)
    with pytest.raises(WrongKey, match="chmod 600") as info:
        read_key_file(path)
    assert encode_master_key(KEY) not in info.value.message


def test_read_key_file_missing_or_malformed(tmp_path):
    with pytest.raises(WrongKey, match="no key file"):
        read_key_file(tmp_path / "absent.key")
    bad = tmp_path / "bad.key"
    bad.write_text("this is not a key\n")
    bad.chmod(0o600)
    with pytest.raises(WrongKey):
        read_key_file(bad)


# -- keyring ----------------------------------------------------------------------------------------

def test_subkeys_are_distinct_stable_and_hidden_from_repr():
    ring = Keyring(KEY)
    assert ring.subkey("field") == Keyring(KEY).subkey("field")
    assert len({ring.subkey(p) for p in ("field", "lookup", "blob-kek", "audit")}) == 4
    assert KEY.hex() not in repr(ring) and str(KEY) not in repr(ring)
    assert ring.subkey("field").hex() not in repr(ring)


def test_key_id_identifies_the_key_without_revealing_it():
    ring = Keyring(KEY)
    assert len(ring.key_id()) == 16 and int(ring.key_id(), 16) >= 0
    assert ring.key_id() == Keyring(KEY).key_id()
    assert ring.key_id() != Keyring(generate_master_key()).key_id()


def test_mac_depends_on_purpose_and_data():
    ring = Keyring(KEY)
    assert len(ring.mac("a", b"x")) == 32
    assert ring.mac("a", b"x") != ring.mac("b", b"x") != ring.mac("a", b"y")


def test_keyring_rejects_wrong_length():
    with pytest.raises(WrongKey):
        Keyring(b"\x00" * 16)


# -- field cipher -----------------------------------------------------------------------------------

@given(st.text(max_size=200), st.text(max_size=40))
def test_field_round_trip(plaintext, context):
    cipher = FieldCipher(Keyring(KEY))
    sealed = cipher.seal(plaintext, context=context)
    assert cipher.open(sealed, context=context) == plaintext


def test_seal_is_randomized(cipher):
    assert cipher.seal("110101199003074514", context="c") != cipher.seal("110101199003074514", context="c")


def test_field_bound_to_context(cipher):
    sealed = cipher.seal("张三", context="customer:1:name")
    with pytest.raises(IntegrityFailure, match="integrity check failed"):
        cipher.open(sealed, context="customer:2:name")


def test_field_tampering_short_input_and_wrong_key(cipher):
    sealed = cipher.seal("13800138000", context="phone")
    for i in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[i] ^= 0x01
        with pytest.raises(IntegrityFailure):
            cipher.open(bytes(damaged), context="phone")
    with pytest.raises(IntegrityFailure):
        cipher.open(sealed[:20], context="phone")
    with pytest.raises(IntegrityFailure):
        FieldCipher(Keyring(generate_master_key())).open(sealed, context="phone")


def test_no_plaintext_in_sealed_bytes(cipher):
    assert b"110101199003074514" not in cipher.seal("110101199003074514", context="id")


def test_lookup_hash_stable_and_kind_separated(cipher):
    h = cipher.lookup_hash("cn_ric", "110101199003074514")
    assert h == FieldCipher(Keyring(KEY)).lookup_hash("cn_ric", "110101199003074514")
    assert len(h) == 64 and int(h, 16) >= 0
    assert h != cipher.lookup_hash("passport", "110101199003074514")
    assert h != cipher.lookup_hash("cn_ric", "110101199003074515")
    assert h != FieldCipher(Keyring(generate_master_key())).lookup_hash("cn_ric", "110101199003074514")
    # the separator keeps ("a", "b\x00c") and ("a\x00b", "c") style collisions apart in the common case
    assert cipher.lookup_hash("ab", "c") != cipher.lookup_hash("a", "bc")
