"""OCR adapter: what it reads on generated scans (bench/ocr_samples.py), orientation, confidence, and that it
neither writes a file nor reaches the network.

The engine tests need RapidOCR + ONNX Runtime (pip) and a CJK font (Debian's fonts-noto-cjk) to render the
pages; they skip with the reason when either is missing. The pure helpers (reading order, red removal,
box mapping) are tested without an engine. Each OCR'd page costs about 1-2 s on this machine, so the
pages are few and each is read once (cached per module).
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from stdnum.cn import ric

from clientfolio.adapters import ocr

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a top-level package beside src/
    sys.path.insert(0, str(ROOT))
from bench import ocr_samples  # noqa: E402

ENGINE_MISSING = ocr.engine_available()
FONT = ocr_samples.cjk_font()
needs_engine = pytest.mark.skipif(ENGINE_MISSING is not None, reason=ENGINE_MISSING or "")
needs_font = pytest.mark.skipif(FONT is None, reason=ocr_samples.FONT_MISSING)
PAGES = ("contract_clean", "snippet_rot90", "snippet_rot180", "snippet_rot270", "id_card_1_clean",
         "id_card_2_clean", "id_card_3_clean", "id_card_1_rot270", "contract_seal", "snippet_clean")


def flat(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def accuracy(expected: str, got: str) -> float:
    from rapidfuzz.distance import Levenshtein

    want = flat(expected)
    return 1 - Levenshtein.distance(want, flat(got)) / len(want)


@pytest.fixture(scope="module")
def samples() -> dict[str, ocr_samples.Sample]:
    if FONT is None:
        pytest.skip(ocr_samples.FONT_MISSING)
    return {s.name: s for s in ocr_samples.samples(only=set(PAGES))}


@pytest.fixture(scope="module")
def engine() -> ocr.RapidOcrEngine:
    if ENGINE_MISSING:
        pytest.skip(ENGINE_MISSING)
    return ocr.RapidOcrEngine()


@pytest.fixture(scope="module")
def read(engine, samples):
    """read(name) -> OcrPage, each sample OCR'd at most once per module."""
    cache: dict[str, ocr.OcrPage] = {}

    def _read(name: str) -> ocr.OcrPage:
        if name not in cache:
            cache[name] = engine.read(samples[name].image)
        return cache[name]

    return _read


# --- What it reads -----------------------------------------------------------------------------------------


@needs_engine
@needs_font
def test_clean_contract_is_read_in_order_with_known_words(read, samples):
    page = read("contract_clean")
    expected = samples["contract_clean"].expected
    assert page.rotation == 0 and accuracy(expected, page.text) >= 0.95
    text = flat(page.text)
    for word in ("销售合同", "第一条", "以下简称甲方", "违约金", "service@example.com", "上海国际仲裁中心"):
        assert word in text, word
    assert re.search(r"HT-\d{4}-\d{4}", text)
    assert text.index("第一条") < text.index("第三条") < text.index("第七条")  # reading order
    assert not re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]", page.text)  # no spaces inside Chinese


@needs_engine
@needs_font
@pytest.mark.parametrize("name", ["snippet_rot90", "snippet_rot180", "snippet_rot270", "id_card_1_rot270"])
def test_turned_pages_are_detected_and_read_upright(read, samples, name):
    sample = samples[name]
    page = read(name)
    assert page.rotation == sample.rotation
    assert accuracy(sample.expected, page.text) >= 0.95
    first, last = flat(sample.expected.splitlines()[0]), flat(sample.expected.splitlines()[-1])
    text = flat(page.text)
    assert text.index(first[:8]) < text.index(last[:8])  # lines in reading order of the upright page


@needs_engine
@needs_font
@pytest.mark.parametrize("name", ["id_card_1_clean", "id_card_2_clean", "id_card_3_clean"])
def test_id_numbers_are_read_exactly(read, samples, name):
    number = re.search(r"\d{17}[\dX]", samples[name].expected).group()
    page = read(name)
    assert ric.is_valid(number) and number in flat(page.text)
    assert "姓名" in page.text and "公民身份号码" in page.text
    assert 0.9 <= page.confidence <= 1.0
    names = [line.text for line in page.lines]
    assert any(number in flat(t) for t in names)


@needs_engine
@needs_font
def test_red_seal_over_text_costs_nothing(read, samples):
    page = read("contract_seal")
    assert accuracy(samples["contract_seal"].expected, page.text) >= 0.98
    assert "专用章" not in page.text


@needs_engine
@needs_font
def test_lines_carry_text_confidence_and_boxes_in_the_upright_page(read, samples):
    page = read("snippet_rot90")
    upright = samples["snippet_clean"].image
    assert page.lines and all(0.0 <= line.confidence <= 1.0 for line in page.lines)
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        assert 0 <= x0 < x1 <= upright.width + 2 and 0 <= y0 < y1 <= upright.height + 2
    tops = [line.box[1] for line in page.lines]
    assert tops == sorted(tops)
    weights = [len(flat(line.text)) for line in page.lines]
    mean = sum(line.confidence * w for line, w in zip(page.lines, weights)) / sum(weights)
    assert page.confidence == pytest.approx(mean)


@needs_engine
@needs_font
def test_downscaled_page_reports_boxes_in_input_pixels(engine, samples):
    image = samples["snippet_clean"].image
    big = image.resize((image.width * 2, image.height * 2))
    page = ocr.RapidOcrEngine(max_side=1000).read(big)
    assert accuracy(samples["snippet_clean"].expected, page.text) >= 0.95
    assert max(line.box[2] for line in page.lines) > 1000  # scaled back to the 2000-px input


# --- Confidence --------------------------------------------------------------------------------------------


@needs_engine
def test_blank_page_has_no_text_and_zero_confidence(engine):
    page = engine.read(ocr_samples.blank_page())
    assert (page.text, page.confidence, page.rotation, page.lines) == ("", 0.0, 0, [])


@needs_engine
@needs_font
def test_noise_page_is_trusted_less_than_a_clean_page(engine, read):
    noise = engine.read(ocr_samples.noise_page())
    clean = read("id_card_1_clean")
    assert 0.0 <= noise.confidence < clean.confidence
    assert len(flat(noise.text)) < 10


# --- Nothing on disk, nothing from the network -------------------------------------------------------------

_WATCH = {"on": False, "events": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if not _WATCH["on"]:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes and not isinstance(path, int):  # an int is a pipe's descriptor (subprocess), not a file
            _WATCH["events"].append((event, path, mode))
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.link", "os.symlink", "shutil.copyfile",
                   "tempfile.mkstemp", "tempfile.mkdtemp") or event.startswith("socket."):
        _WATCH["events"].append((event, *args[:2]))
    elif event == "subprocess.Popen":
        _WATCH["events"].append((event, tuple(map(str, args[1] or ())) if len(args) > 1 else ()))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one is idle unless a test switches it on


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """Records Python-level writes, socket use and subprocesses; TMPDIR and the cwd are empty folders to list."""
    scratch, work = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir(), work.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.chdir(work)
    _WATCH["events"] = []
    _WATCH["on"] = True
    try:
        yield _WATCH["events"]
    finally:
        _WATCH["on"] = False
    assert list(scratch.iterdir()) == [] and list(work.iterdir()) == []


@needs_engine
@needs_font
def test_reading_writes_no_file_and_opens_no_socket(engine, samples, watched):
    engine.read(Image.new("RGB", (64, 64), "white"))  # make sure the models are loaded before watching
    page = engine.read(samples["id_card_2_clean"].image)
    assert "公民身份号码" in page.text
    assert watched == []


@needs_engine
def test_models_load_from_the_wheel_without_network(monkeypatch, watched):
    from rapidocr.utils import download_file

    def refuse(*_args, **_kwargs):
        raise AssertionError("rapidocr tried to download something")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))
    paths = ocr.model_paths()
    import rapidocr

    package = Path(rapidocr.__file__).resolve().parent
    assert all(path.is_file() and package in path.parents for path in paths.values())
    fresh = ocr.RapidOcrEngine(threads=2)  # another thread count: a new load in this process
    assert fresh.read(Image.new("RGB", (200, 100), "white")).text == ""
    assert [e for e in watched if e[0].startswith("socket.") or e[0] == "open"] == []


@pytest.mark.skipif(ocr.tesseract_available() is not None, reason=ocr.tesseract_available() or "")
@needs_font
def test_tesseract_reads_through_pipes_only(samples, watched):
    page = ocr.TesseractEngine().read(samples["snippet_clean"].image)
    assert accuracy(samples["snippet_clean"].expected, page.text) >= 0.9
    assert 0.0 < page.confidence <= 1.0
    assert not re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]", page.text)
    runs = [e for e in watched if e[0] == "subprocess.Popen"]
    assert runs and all(args[1:3] == ("stdin", "stdout") for _, args in runs)
    assert [e for e in watched if e[0] != "subprocess.Popen"] == []


# --- Pure helpers (no engine) ------------------------------------------------------------------------------


def _quad(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def test_reading_order_rows_top_to_bottom_then_left_to_right():
    lines = [("民族 汉", 0.9, _quad(320, 150, 480, 190)), ("姓名 张伟", 0.9, _quad(70, 70, 300, 110)),
             ("性别 男", 0.9, _quad(70, 152, 250, 188)), ("住址", 0.9, _quad(70, 230, 140, 270))]
    rows = ocr.reading_order(lines)
    assert [[t for t, _, _ in row] for row in rows] == [["姓名 张伟"], ["性别 男", "民族 汉"], ["住址"]]


def test_reading_order_survives_skew():
    angle = np.radians(4)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lines = [(f"line {k}", 0.9, _quad(60, 60 + 50 * k, 1160, 90 + 50 * k) @ turn.T) for k in range(6)]
    rows = ocr.reading_order(list(reversed(lines)))
    assert [row[0][0] for row in rows] == [f"line {k}" for k in range(6)]


def test_join_row_puts_no_space_inside_chinese():
    assert ocr.join_row([("合同", (0, 0, 60, 30)), ("编号", (62, 0, 120, 30))]) == "合同编号"
    assert ocr.join_row([("姓名", (0, 0, 60, 30)), ("张伟", (120, 0, 180, 30))]) == "姓名 张伟"
    assert ocr.join_row([("Bank", (0, 0, 60, 30)), ("of", (64, 0, 90, 30))]) == "Bank of"


def test_remove_red_keeps_black_ink_under_a_seal():
    arr = np.full((80, 80, 3), 250, np.uint8)
    arr[20:60, 30:50] = (210, 60, 60)  # seal red (an eighth of the page: a seal, not a red page)
    arr[38:42, :] = (15, 15, 15)  # black stroke crossing it
    out = np.asarray(ocr.remove_red(Image.fromarray(arr)))
    assert (out[20:36, 30:50] >= 240).all()  # red became paper
    assert (out[38:42, :] <= 20).all()  # black stayed black
    whole = np.full((40, 40, 3), (210, 60, 60), np.uint8)  # a page that is mostly red is left as it is
    assert (np.asarray(ocr.remove_red(Image.fromarray(whole))) == whole).all()


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_turn_quad_matches_numpy_rot90(k):
    image = np.zeros((30, 50), np.uint8)
    image[5:9, 10:20] = 1  # a box 10 wide, 4 high at (10, 5)
    turned = np.rot90(image, k)
    ys, xs = np.nonzero(turned)
    quad = ocr._turn_quad(_quad(10, 5, 20, 9), k, 50, 30)
    assert quad.min(axis=0).tolist() == [xs.min(), ys.min()]
    assert quad.max(axis=0).tolist() == [xs.max() + 1, ys.max() + 1]
    assert quad[0].tolist() == quad.min(axis=0).tolist()  # first corner is the top-left again


def test_prepare_applies_exif_flattens_alpha_and_downscales():
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", exif=exif)
    prepared, scale = ocr.prepare(Image.open(buffer), max_side=2000, suppress_red=True)
    assert prepared.size == (100, 300) and prepared.mode == "RGB" and scale == 1.0
    flat_page, _ = ocr.prepare(image, max_side=2000, suppress_red=False)
    assert flat_page.getpixel((5, 5)) == (255, 255, 255)
    small, scale = ocr.prepare(Image.new("L", (4000, 1000), 255), max_side=2000, suppress_red=True)
    assert small.size == (2000, 500) and scale == 0.5


def test_engine_available_says_why_or_none():
    reason = ocr.engine_available()
    assert reason is None or "OCR unavailable" in reason
