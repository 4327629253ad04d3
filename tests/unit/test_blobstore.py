"""LocalBlobStore: round trips, tamper evidence (STREAM), crash hygiene, and constant memory."""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientfolio.adapters.blobstore import HEADER, TAG, LocalBlobStore
from clientfolio.adapters.crypto import Keyring, generate_master_key
from clientfolio.domain.errors import BlobMissing, IntegrityFailure, NotFound

KEY = bytes(range(32))


def make_store(root: Path, chunk_size: int = 16, key: bytes = KEY) -> LocalBlobStore:
    return LocalBlobStore(root, Keyring(key), chunk_size=chunk_size, durable=False)


@pytest.fixture
def store(tmp_path) -> LocalBlobStore:
    return make_store(tmp_path / "blobs")


def pieces(data: bytes, size: int):
    return (data[i:i + size] for i in range(0, len(data), size))


# -- round trips ------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 32, 33, 100])
def test_round_trip_sizes(store, length):
    data = os.urandom(length)
    blob = store.put([data])
    assert (blob.size, blob.sha256) == (length, hashlib.sha256(data).hexdigest())
    assert store.read(blob.blob_id, expected_sha256=blob.sha256) == data
    assert store.verify(blob.blob_id, expected_sha256=blob.sha256) == length
    chunks = list(store.open(blob.blob_id))
    assert all(len(c) == 16 for c in chunks[:-1]) and len(chunks) == max(1, -(-length // 16))


def test_file_size_matches_format(store):
    for length, chunks in [(0, 1), (16, 1), (17, 2), (48, 3)]:
        blob = store.put([b"x" * length])
        assert store.raw_path(blob.blob_id).stat().st_size == HEADER.size + length + chunks * TAG


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), chunk_size=st.integers(1, 70), cut=st.integers(1, 50))
def test_round_trip_random(tmp_path, data, chunk_size, cut):
    store = make_store(tmp_path / "h", chunk_size)
    blob = store.put(pieces(data, cut))  # input pieces of any size are re-chunked
    assert store.read(blob.blob_id, expected_sha256=hashlib.sha256(data).hexdigest()) == data
    assert blob.size == len(data)


def test_input_pieces_larger_than_chunk_and_empty_pieces(store):
    data = os.urandom(1000)
    blob = store.put([b"", data[:500], b"", data[500:], b""])
    assert store.read(blob.blob_id) == data


def test_layout_ids_and_paths(store):
    blob = store.put([b"hello"])
    bid = blob.blob_id
    assert len(bid) == 32 and store.relative_path(bid) == f"{bid[:2]}/{bid[2:4]}/{bid}"
    assert store.raw_path(bid) == store.root / bid[:2] / bid[2:4] / bid
    assert store.exists(bid) and list(store.ids()) == [bid]
    assert store.put([b"hello"]).blob_id != bid  # ids are random, never derived from content
    assert store.age_seconds(bid) >= 0
    store.delete(bid)
    assert not store.exists(bid) and bid not in set(store.ids())
    store.delete(bid)  # deleting twice is harmless


def test_ids_skip_temp_and_foreign_files(store):
    blob = store.put([b"x"])
    (store.root / ".tmp" / "leftover.part").write_bytes(b"junk")
    (store.root / "README").write_text("not a blob")
    (store.raw_path(blob.blob_id).parent / "notes.txt").write_text("x")
    assert list(store.ids()) == [blob.blob_id]
    assert [p.name for p in store.stale_temp_files()] == ["leftover.part"]


def test_empty_store(tmp_path):
    store = make_store(tmp_path / "nothing-here")
    assert list(store.ids()) == [] and store.stale_temp_files() == []


# -- tamper evidence --------------------------------------------------------------------------------

def test_every_single_byte_flip_is_detected(store):
    blob = store.put([b"A" * 40])  # header + 3 chunks (16, 16, 8)
    path = store.raw_path(blob.blob_id)
    original = path.read_bytes()
    for i in range(len(original)):
        damaged = bytearray(original)
        damaged[i] ^= 0x01
        path.write_bytes(damaged)
        with pytest.raises(IntegrityFailure, match="integrity check failed: blob"):
            store.verify(blob.blob_id)
    path.write_bytes(original)
    assert store.verify(blob.blob_id) == 40


def test_truncation_detected_at_every_length(store):
    blob = store.put([os.urandom(40)])
    path = store.raw_path(blob.blob_id)
    original = path.read_bytes()
    for length in range(len(original)):
        path.write_bytes(original[:length])
        with pytest.raises(IntegrityFailure):
            store.verify(blob.blob_id)


def test_dropping_a_whole_final_chunk_detected(store):
    blob = store.put([b"B" * 32])  # exactly two full chunks
    path = store.raw_path(blob.blob_id)
    path.write_bytes(path.read_bytes()[:HEADER.size + 16 + TAG])
    with pytest.raises(IntegrityFailure):
        store.verify(blob.blob_id)


def test_trailing_garbage_detected(store):
    blob = store.put([b"C" * 20])
    path = store.raw_path(blob.blob_id)
    for extra in (b"\x00", os.urandom(TAG), os.urandom(16 + TAG)):
        path.write_bytes(path.read_bytes() + extra)
        with pytest.raises(IntegrityFailure):
            store.verify(blob.blob_id)
        path.write_bytes(path.read_bytes()[:-len(extra)])
    assert store.verify(blob.blob_id) == 20


def test_reordered_chunks_detected(store):
    blob = store.put([b"0" * 16 + b"1" * 16 + b"2" * 5])
    path = store.raw_path(blob.blob_id)
    raw = path.read_bytes()
    h, n = HEADER.size, 16 + TAG
    path.write_bytes(raw[:h] + raw[h + n:h + 2 * n] + raw[h:h + n] + raw[h + 2 * n:])
    with pytest.raises(IntegrityFailure):
        store.verify(blob.blob_id)


def test_swapped_blob_files_detected(store):
    a, b = store.put([b"contract A"]), store.put([b"contract B"])
    pa, pb = store.raw_path(a.blob_id), store.raw_path(b.blob_id)
    raw_a, raw_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(raw_b)
    pb.write_bytes(raw_a)
    for blob in (a, b):
        with pytest.raises(IntegrityFailure):
            store.read(blob.blob_id)


def test_chunk_spliced_from_another_blob_detected(store):
    a, b = store.put([b"a" * 40]), store.put([b"b" * 40])
    pa, raw_b = store.raw_path(a.blob_id), store.raw_path(b.blob_id).read_bytes()
    raw_a = pa.read_bytes()
    h, n = HEADER.size, 16 + TAG
    pa.write_bytes(raw_a[:h] + raw_b[h:h + n] + raw_a[h + n:])
    with pytest.raises(IntegrityFailure):
        store.read(a.blob_id)


def test_wrong_keyring_detected(tmp_path):
    blob = make_store(tmp_path / "s").put([b"secret"])
    with pytest.raises(IntegrityFailure):
        make_store(tmp_path / "s", key=generate_master_key()).read(blob.blob_id)


def test_expected_sha256_mismatch_detected(store):
    blob = store.put([b"payload"])
    with pytest.raises(IntegrityFailure, match="SHA-256"):
        store.read(blob.blob_id, expected_sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(IntegrityFailure):
        store.verify(blob.blob_id, expected_sha256="0" * 64)


def test_reads_blobs_written_with_another_chunk_size(tmp_path):
    data = os.urandom(5000)
    blob = make_store(tmp_path / "s", chunk_size=7).put([data])
    assert make_store(tmp_path / "s", chunk_size=4096).read(blob.blob_id) == data


# -- ids, missing blobs ------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile", ["../x", "../../etc/passwd", "/etc/passwd", "", "A" * 32, "g" * 32,
                                     "0" * 31, "0" * 33, "0" * 32 + "\n", "00/00/" + "0" * 26, ".tmp"])
def test_hostile_ids_rejected(store, hostile):
    with pytest.raises(NotFound):
        store.read(hostile)
    with pytest.raises(NotFound):
        store.raw_path(hostile)
    with pytest.raises(NotFound):
        store.delete(hostile)
    assert not store.exists(hostile)


def test_missing_blob_raises_blob_missing_on_first_next(store):
    chunks = store.open("0" * 32)
    with pytest.raises(BlobMissing, match="blob 0{32} is missing"):
        next(chunks)
    with pytest.raises(BlobMissing):
        store.verify("f" * 32)


# -- at rest and crash hygiene ---------------------------------------------------------------------

def test_no_plaintext_on_disk(store):
    marker = "客户张三-身份证-110101199003074514-MARKER".encode()
    blob = store.put([marker * 50])
    (store.root / ".tmp").mkdir(exist_ok=True)
    for path in store.root.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert marker not in raw and b"MARKER" not in raw and b"110101199003074514" not in raw
    assert store.read(blob.blob_id) == marker * 50


def test_failed_put_leaves_no_temp_file(store):
    def exploding():
        yield b"x" * 100
        raise RuntimeError("upload aborted")

    with pytest.raises(RuntimeError, match="upload aborted"):
        store.put(exploding())
    assert store.stale_temp_files() == [] and list(store.ids()) == []


def test_durable_put_works(tmp_path):
    store = LocalBlobStore(tmp_path / "d", Keyring(KEY), chunk_size=1024)
    blob = store.put([b"durable"])
    assert store.read(blob.blob_id) == b"durable" and store.stale_temp_files() == []
    assert (store.raw_path(blob.blob_id).stat().st_mode & 0o077) == 0


def test_backup_style_copy_of_raw_file_reads_back(tmp_path):
    src = make_store(tmp_path / "a")
    blob = src.put([b"copied as it is"])
    dst = make_store(tmp_path / "b")
    target = dst.raw_path(blob.blob_id)
    target.parent.mkdir(parents=True)
    shutil.copyfile(src.raw_path(blob.blob_id), target)
    assert dst.read(blob.blob_id, expected_sha256=blob.sha256) == b"copied as it is"


# -- memory ---------------------------------------------------------------------------------------

def test_put_and_verify_stream_in_constant_memory(tmp_path):
    store = LocalBlobStore(tmp_path / "big", Keyring(KEY), chunk_size=1 << 20, durable=False)
    piece = os.urandom(256 << 10)
    total = 64 << 20

    def generate():
        for _ in range(total // len(piece)):
            yield piece

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        blob = store.put(generate())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        size = store.verify(blob.blob_id)
        _, verify_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == size == total
    assert put_peak < 16 << 20, f"put peaked at {put_peak / 2**20:.1f} MiB"
    assert verify_peak < 16 << 20, f"verify peaked at {verify_peak / 2**20:.1f} MiB"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=200), offset=st.integers(min_value=0, max_value=220))
def test_reading_from_an_offset_gives_the_tail(tmp_path, data, offset):
    store = make_store(tmp_path / f"b{offset}", chunk_size=16)
    blob = store.put([data])
    assert b"".join(store.open(blob.blob_id, expected_sha256=blob.sha256, offset=offset)) == data[offset:]


def test_reading_from_an_offset_still_detects_a_tampered_chunk(store):
    blob = store.put([bytes(range(100))])
    path = store.raw_path(blob.blob_id)
    raw = bytearray(path.read_bytes())
    raw[HEADER.size + 3 * (16 + TAG) + 2] ^= 1  # the fourth chunk (bytes 48..63)
    path.write_bytes(bytes(raw))
    assert b"".join(store.open(blob.blob_id, offset=64)) == bytes(range(64, 100))
    with pytest.raises(IntegrityFailure):
        b"".join(store.open(blob.blob_id, offset=50))
