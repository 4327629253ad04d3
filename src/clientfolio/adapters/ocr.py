"""OCR of page images, in memory: Simplified Chinese and English, offline, with a confidence per page.

`RapidOcrEngine` is the engine the vault uses: RapidOCR 3.x on ONNX Runtime with the PP-OCR models that ship
inside the `rapidocr` wheel (pinned by path below, so no code path that fetches a model from a hub can run).
`TesseractEngine` (Debian's tesseract-ocr + chi_sim) has the same interface and exists for the comparison in
`bench/ocr_accuracy.py`; docs/ocr.md has the measurements and the reasons for the choice.

Both take a PIL image and return an `OcrPage`. Nothing is written to disk: RapidOCR gets a numpy array,
Tesseract gets PNG bytes on its standard input and answers on its standard output.

Before OCR a page is prepared: EXIF orientation applied, converted to RGB, red ink (company seals) turned
into paper, huge images scaled down. Text is detected once; the boxes tell whether lines run across or down
the image and the direction classifier, shown the longest lines, tells which way up, which gives the page's
rotation (0/90/180/270). Each line is cut out, turned upright and recognised; lines come back in reading
order of the upright page (rows top to bottom, left to right within a row, skew allowed for).

Usage: `RapidOcrEngine().read(image) -> OcrPage(text, confidence, rotation, lines)`; `engine_available()`
says why it cannot run (None when it can). One engine per process is loaded on first use; the default of one
ONNX Runtime thread lets two worker processes share two cores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the upright page's pixels (the input turned by `rotation`)

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"  # ideographs and CJK punctuation
_SPACE_BETWEEN_HAN = re.compile(f"(?<=[{_HAN}])[ \t]+(?=[{_HAN}])")
_MODELS = {  # the files shipped inside the rapidocr 3.x wheel (rapidocr/models/)
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}


@dataclass
class OcrLine:
    text: str
    confidence: float  # 0..1
    box: Box


@dataclass
class OcrPage:
    text: str  # lines in reading order, "\n" between lines
    confidence: float  # mean line confidence weighted by characters; 0.0 when no text was found
    rotation: int  # 0/90/180/270: how far the page was turned clockwise; image.rotate(rotation, expand=True) is upright
    lines: list[OcrLine] = field(default_factory=list)


# --- Preparation (both engines) ----------------------------------------------------------------------------


def prepare(image: Image.Image, *, max_side: int, suppress_red: bool) -> tuple[Image.Image, float]:
    """EXIF transpose, RGB on white, red ink removed, longest side at most `max_side`; returns (image, scale)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = Image.new("RGB", rgba.size, (255, 255, 255))
        page.paste(rgba, mask=rgba.getchannel("A"))
        image = page
    elif image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(image, dtype=np.float64)
        top = arr.max() or 1.0
        image = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8)).convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    scale = 1.0
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    if suppress_red:
        image = remove_red(image)
    return image, scale


def remove_red(image: Image.Image) -> Image.Image:
    """Red and pink ink (seals, stamps) becomes the paper around it; black and blue ink under it stays.

    Red pixels (red channel well above green and blue) are replaced by the local paper colour: the brightest
    colour nearby once the red is blanked out (a 17-px max filter on a quarter-size copy), so a seal disappears
    from white paper, grey paper and a photo's shadow alike, while dark ink crossing it is untouched.
    """
    arr = np.asarray(image)
    r = arr[..., 0].astype(np.int16)
    redness = r - np.maximum(arr[..., 1], arr[..., 2]).astype(np.int16)
    mask = (redness > 32) & (r > 100)
    if not mask.any() or mask.mean() > 0.25:  # a red page, not a seal on one: leave it alone
        return image
    # the pale pink fringe of anti-aliased seal strokes: next to red, a little red, and light
    near = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))) > 0
    mask |= near & (redness > 6) & (r > 150)
    blanked = arr.copy()
    blanked[mask] = 0
    factor = 4 if min(image.size) >= 64 else 1
    small = Image.fromarray(blanked).reduce(factor)
    paper = np.asarray(small.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.MaxFilter(9))
                       .resize(image.size, Image.Resampling.BILINEAR))
    out = arr.copy()
    fill = paper[mask]
    lost = fill.max(axis=1) < 16  # red wider than the window: the page's usual paper colour instead
    if lost.any():
        fill[lost] = np.percentile(arr[~mask], 90, axis=0).astype(np.uint8) if (~mask).any() else 255
    out[mask] = fill
    return Image.fromarray(out)


def join_row(parts: list[tuple[str, Box]]) -> str:
    """Join the pieces of one row left to right: nothing between Chinese, one space elsewhere or across a gap."""
    text, last = "", None
    for piece, box in parts:
        if text:
            gap = box[0] - last[2]
            height = max(1, min(box[3] - box[1], last[3] - last[1]))
            tight = gap < 0.6 * height and _is_han(text[-1]) and _is_han(piece[0])
            text += piece if tight else " " + piece
        else:
            text = piece
        last = box
    return text


def reading_order(lines: list[tuple[str, float, np.ndarray]]) -> list[list[tuple[str, float, np.ndarray]]]:
    """Rows top to bottom, pieces left to right. Boxes are quadrilaterals in an upright (maybe skewed) page."""
    if not lines:
        return []
    angles = []
    for _, _, quad in lines:
        dx, dy = quad[1] - quad[0]
        if abs(dx) > 2 * abs(dy) and abs(dx) > 0:
            angles.append(np.arctan2(dy, dx))
    angle = float(np.median(angles)) if angles else 0.0
    cos, sin = np.cos(-angle), np.sin(-angle)
    level = np.array([[cos, -sin], [sin, cos]])  # undo the skew so rows are horizontal
    items = []
    for line in lines:
        pts = line[2] @ level.T
        items.append((pts[:, 1].min(), pts[:, 1].max(), pts[:, 0].min(), line))
    items.sort(key=lambda item: (item[0] + item[1]) / 2)
    rows: list[list[tuple]] = []
    for item in items:
        top, bottom = item[0], item[1]
        if rows:
            row_top = float(np.median([i[0] for i in rows[-1]]))
            row_bottom = float(np.median([i[1] for i in rows[-1]]))
            overlap = min(bottom, row_bottom) - max(top, row_top)
            if overlap > 0.5 * min(bottom - top, row_bottom - row_top):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [[i[3] for i in sorted(row, key=lambda i: i[2])] for row in rows]


def _is_han(ch: str) -> bool:
    return bool(re.match(f"[{_HAN}]", ch))


def _box(quad: np.ndarray, scale: float) -> Box:
    x0, y0 = quad.min(axis=0) / scale
    x1, y1 = quad.max(axis=0) / scale
    return (int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))


def _page(rows: list[list[tuple[str, float, np.ndarray]]], rotation: int, scale: float) -> OcrPage:
    out_lines: list[OcrLine] = []
    texts = []
    for row in rows:
        pieces = [(text.strip(), _box(quad, 1.0)) for text, _, quad in row if text.strip()]
        if not pieces:
            continue
        texts.append(join_row(pieces))
        out_lines += [OcrLine(text.strip(), float(min(max(conf, 0.0), 1.0)), _box(quad, scale))
                      for text, conf, quad in row if text.strip()]
    weights = [len(re.sub(r"\s", "", line.text)) for line in out_lines]
    total = sum(weights)
    confidence = sum(line.confidence * w for line, w in zip(out_lines, weights)) / total if total else 0.0
    return OcrPage("\n".join(texts), float(confidence), rotation, out_lines)


# --- RapidOCR ----------------------------------------------------------------------------------------------

_LOADED: dict[tuple, object] = {}
_LOAD_LOCK = threading.Lock()


def model_paths() -> dict[str, Path]:
    """The PP-OCR model files inside the installed rapidocr package (raises ImportError if it is absent)."""
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    return {task: root / name for task, name in _MODELS.items()}


def engine_available() -> str | None:
    """None when RapidOCR can run offline here, else the reason it cannot."""
    try:
        import onnxruntime  # noqa: F401 - rapidocr 3.x does not depend on it; we do
        paths = model_paths()
    except ImportError as exc:
        return f"OCR unavailable: {exc.name or exc} is not installed (pip install rapidocr onnxruntime)"
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        return f"OCR unavailable: model files missing from the rapidocr package: {', '.join(missing)}"
    return None


class RapidOcrEngine:
    """RapidOCR (PP-OCR models in the wheel) on ONNX Runtime. Loaded on first use, once per process.

    One text detection per page, on the page as given. The boxes say whether lines run across or down the
    image; the direction classifier, shown the longest lines, says which way up. Each line is then cut out,
    turned upright and recognised on its own (no padding to the widest line of a batch), and the boxes are
    mapped into the upright page for reading order. docs/ocr.md has the measurements behind each step.
    """

    name = "rapidocr"

    def __init__(self, *, threads: int = 1, max_side: int = 2000, suppress_red: bool = True,
                 min_line_score: float = 0.5, line_classifier: bool = False):
        self.threads, self.max_side, self.suppress_red = max(1, int(threads)), max_side, suppress_red
        self.min_line_score, self.line_classifier = min_line_score, line_classifier

    def _engine(self):
        key = (os.getpid(), self.threads)
        loaded = _LOADED.get(key)
        if loaded is None:
            with _LOAD_LOCK:
                loaded = _LOADED.get(key)
                if loaded is None:
                    loaded = _LOADED[key] = (self._load(), threading.Lock())
        return loaded

    def _load(self):
        reason = engine_available()
        if reason:
            raise RuntimeError(reason)
        from rapidocr import EngineType, RapidOCR

        params = {"Global.log_level": "error", "Global.text_score": 0.0, "Global.max_side_len": 4096,
                  "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                  "EngineConfig.onnxruntime.inter_op_num_threads": 1}
        for task, path in model_paths().items():
            params[f"{task}.model_path"] = str(path)  # a model_path that is set is used as is: never downloaded
            params[f"{task}.engine_type"] = EngineType.ONNXRUNTIME
        engine = RapidOCR(params=params)
        engine._load_det_model(), engine._load_cls_model(), engine._load_rec_model()  # noqa: SLF001 - load now
        return engine

    def read(self, image: Image.Image) -> OcrPage:
        engine, lock = self._engine()
        prepared, scale = prepare(image, max_side=self.max_side, suppress_red=self.suppress_red)
        bgr = np.ascontiguousarray(np.asarray(prepared)[:, :, ::-1])
        with lock:  # RapidOCR keeps the flags of its last call on the instance: one call at a time
            quads = self._detect(engine, bgr)
            if not quads:
                return OcrPage("", 0.0, 0, [])
            crops = [_crop(bgr, quad) for quad in quads]
            rotation = self._orientation(engine, quads, crops)
            k = rotation // 90
            upright = [_upright_line(np.rot90(crop, k)) for crop in crops]
            if self.line_classifier:
                upright = self._flip_lines(engine, upright)
            read = [self._recognise(engine, crop) for crop in upright]
        height, width = bgr.shape[:2]
        lines = [(text, score, _turn_quad(quad, k, width, height))
                 for quad, (text, score) in zip(quads, read) if text.strip() and score >= self.min_line_score]
        return _page(reading_order(lines), rotation, scale)

    def orientation(self, image: Image.Image) -> int:
        """0/90/180/270: how far the page is turned clockwise from upright (detection + classifier only)."""
        engine, lock = self._engine()
        prepared, _ = prepare(image, max_side=self.max_side, suppress_red=self.suppress_red)
        bgr = np.ascontiguousarray(np.asarray(prepared)[:, :, ::-1])
        with lock:
            quads = self._detect(engine, bgr)
            return self._orientation(engine, quads, [_crop(bgr, q) for q in quads]) if quads else 0

    @staticmethod
    def _detect(engine, bgr: np.ndarray) -> list[np.ndarray]:
        det = engine(bgr, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(det, "boxes", None)
        return [] if boxes is None else [np.asarray(b, dtype=np.float32) for b in boxes]

    @staticmethod
    def _orientation(engine, quads: list[np.ndarray], crops: list[np.ndarray]) -> int:
        across = down = 0.0
        shaped = []
        for quad, crop in zip(quads, crops):
            h, w = crop.shape[:2]
            if w >= 1.5 * h:
                across += w
                shaped.append((0, w, crop))
            elif h >= 1.5 * w:
                down += h
                shaped.append((90, h, crop))
        if not shaped:
            return 0
        base = 90 if down > across else 0
        longest = sorted((s for s in shaped if s[0] == base), key=lambda s: -s[1])[:8]
        pieces = []
        for _, _, crop in longest:
            line = np.rot90(crop, base // 90)
            step = 4 * line.shape[0]  # the classifier sees 48 x 192: long lines are cut, not squeezed
            pieces += [np.ascontiguousarray(line[:, x:x + step]) for x in range(0, line.shape[1], step)
                       if line[:, x:x + step].shape[1] >= line.shape[0]][:3]
        if not pieces:
            return base
        votes = engine.text_cls(pieces).cls_res
        flipped = sum(float(score) for label, score in votes if str(label) == "180")
        kept = sum(float(score) for label, score in votes if str(label) != "180")
        return (base + 180) % 360 if flipped > kept else base

    @staticmethod
    def _flip_lines(engine, crops: list[np.ndarray]) -> list[np.ndarray]:
        out = engine.text_cls(crops)  # flips the lines it finds upside down (score above cls_thresh, 0.9)
        return [np.ascontiguousarray(c) for c in out.img_list]

    @staticmethod
    def _recognise(engine, crop: np.ndarray) -> tuple[str, float]:
        out = engine(crop, use_det=False, use_cls=False, use_rec=True)
        txts, scores = getattr(out, "txts", None), getattr(out, "scores", None)
        if not txts:
            return "", 0.0
        return str(txts[0]), float(scores[0])


def _upright_line(crop: np.ndarray) -> np.ndarray:
    """A line still taller than wide once the page is upright is vertical text: lay it down as RapidOCR does."""
    h, w = crop.shape[:2]
    return np.ascontiguousarray(np.rot90(crop) if h >= 1.5 * w else crop)


def _turn_quad(quad: np.ndarray, k: int, width: int, height: int) -> np.ndarray:
    """Map a box's corners through k quarter turns counter-clockwise (np.rot90), corners re-ordered from top-left."""
    pts = quad.astype(np.float64)
    for _ in range(k):
        pts = np.stack([pts[:, 1], width - pts[:, 0]], axis=1)
        width, height = height, width
    return np.roll(pts, -k, axis=0)


def _crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral cut out and straightened, in the image's own orientation (not turned upright)."""
    import cv2

    w = max(1, int(round(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))))
    h = max(1, int(round(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


# --- Tesseract (for the comparison) ------------------------------------------------------------------------


def tesseract_available() -> str | None:
    """None when the tesseract binary with chi_sim and eng is here, else the reason it is not."""
    binary = shutil.which("tesseract")
    if not binary:
        return "tesseract not found (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
    langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, check=False).stdout.split()
    missing = [lang for lang in ("chi_sim", "eng") if lang not in langs]
    if missing:
        return f"tesseract has no {'/'.join(missing)} data (apt-get install tesseract-ocr-chi-sim)"
    return None


class TesseractEngine:
    """Tesseract 5 through its command line: PNG bytes on stdin, TSV on stdout, OSD for the orientation."""

    name = "tesseract"

    def __init__(self, *, threads: int = 1, max_side: int = 3000, suppress_red: bool = True,
                 languages: str = "chi_sim+eng", thresholding: int = 0, timeout: float = 120.0):
        self.threads, self.max_side, self.suppress_red = max(1, int(threads)), max_side, suppress_red
        self.languages, self.thresholding, self.timeout = languages, thresholding, timeout  # 0 Otsu, 2 Sauvola

    def _run(self, png: bytes, *args: str) -> str:
        binary = shutil.which("tesseract")
        if not binary:
            raise RuntimeError(tesseract_available() or "tesseract not found")
        env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
        done = subprocess.run([binary, "stdin", "stdout", *args], input=png, capture_output=True,
                              env=env, timeout=self.timeout, check=False)
        return done.stdout.decode("utf-8", "replace")

    def read(self, image: Image.Image) -> OcrPage:
        import io

        prepared, scale = prepare(image, max_side=self.max_side, suppress_red=self.suppress_red)
        buffer = io.BytesIO()
        prepared.save(buffer, "PNG")
        osd = self._run(buffer.getvalue(), "--psm", "0", "-l", "osd")
        found = re.search(r"Rotate:\s*(\d+)", osd)
        rotation = int(found.group(1)) % 360 if found else 0  # degrees to turn clockwise to make it upright
        rotation = (360 - rotation) % 360  # ours: how far it is turned clockwise from upright
        if rotation:
            prepared = prepared.rotate(rotation, expand=True)
            buffer = io.BytesIO()
            prepared.save(buffer, "PNG")
        tsv = self._run(buffer.getvalue(), "-l", self.languages, "--psm", "3",
                        "-c", f"thresholding_method={self.thresholding}", "tsv")
        rows: dict[tuple[int, int, int], list[tuple[str, float, np.ndarray]]] = {}
        for record in tsv.splitlines()[1:]:
            cells = record.split("\t")
            if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
                continue
            left, top, width, height = (int(c) for c in cells[6:10])
            quad = np.array([[left, top], [left + width, top], [left + width, top + height], [left, top + height]],
                            dtype=np.float64)
            rows.setdefault((int(cells[2]), int(cells[3]), int(cells[4])), []).append(
                (cells[11], max(float(cells[10]), 0.0) / 100.0, quad))
        lines = []
        for words in rows.values():
            text = _SPACE_BETWEEN_HAN.sub("", " ".join(w for w, _, _ in words))
            weights = [len(w) for w, _, _ in words]
            confidence = sum(c * n for (_, c, _), n in zip(words, weights)) / max(1, sum(weights))
            pts = np.concatenate([q for _, _, q in words])
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            lines.append((text, confidence, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])))
        if not lines:
            return OcrPage("", 0.0, rotation, [])
        return _page(reading_order(lines), rotation, scale)
