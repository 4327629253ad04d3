"""A labelled OCR test set made in memory: the same images for `bench/ocr_accuracy.py` and `tests/unit/test_ocr.py`.

Deterministic (one seed): contract paragraphs in Chinese with English and numbers, resident-ID-card-like layouts
with valid 18-digit numbers, a business-licence-like page with a valid unified social credit code, a page of
dates; then the same pages degraded the way phone photos and bad scanners degrade them (blur, JPEG, noise, low
contrast, shadow, small skew, a red seal over the text) and turned by 90/180/270 degrees.

Each sample is (name, image, expected, kind, rotation): `expected` is the text in reading order (lines joined by
"\\n"; compare whitespace-stripped), `kind` is clean | degraded | rotated, `rotation` is how far the page is
turned clockwise from upright (so `image.rotate(rotation, expand=True)` makes it upright again).

Chinese needs a CJK font: Debian's fonts-noto-cjk, found through fontconfig (`cjk_font()`); without one,
`samples()` raises MissingFont with the install hint.
"""

from __future__ import annotations

import functools
import io
import math
import random
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from stdnum.cn import ric, uscc

SEED = 20240318
FONT_MISSING = "no CJK font found by fc-list: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)"
WHITE = (255, 255, 255)
INK = (20, 20, 20)


class MissingFont(RuntimeError):
    pass


class Sample(NamedTuple):
    name: str
    image: Image.Image
    expected: str
    kind: str  # clean | degraded | rotated
    rotation: int = 0  # degrees clockwise from upright


# --- Fonts -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def cjk_font(serif: bool = False) -> tuple[str, int] | None:
    """(file, face index) of a Simplified Chinese font (sans, or serif when asked and present), or None."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", "-f", "%{file}\t%{index}\t%{family}\t%{style}\n", ":lang=zh-cn"],
                         capture_output=True, text=True, check=False).stdout
    fonts = [line.split("\t") for line in out.splitlines() if line.count("\t") == 3]

    def rank(font: list[str]) -> tuple:
        path, _, family, style = font
        return ("SC" not in family, ("Serif" in family) != serif, "Mono" in family,
                "Regular" not in style.split(","), path)

    fonts.sort(key=rank)
    return (fonts[0][0], int(fonts[0][1] or 0)) if fonts else None


@functools.lru_cache(maxsize=64)
def font(size: int, *, serif: bool = False) -> ImageFont.FreeTypeFont:
    found = cjk_font(serif) or cjk_font(False)
    if not found:
        raise MissingFont(FONT_MISSING)
    return ImageFont.truetype(found[0], size, index=found[1])


# --- Content ---------------------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "建国", "晓东", "海燕", "志强", "文华", "佳怡"]
ETHNIC = ["汉", "汉", "汉", "回", "满", "壮", "蒙古"]
AREAS = [("110105", "北京市朝阳区", ["建国路88号院3号楼", "望京街道阜通东大街6号"]),
         ("310115", "上海市浦东新区", ["世纪大道100号", "张江路368号2幢"]),
         ("440305", "广东省深圳市南山区", ["科技园南区高新南七道12号", "蛇口望海路1188号"]),
         ("330106", "浙江省杭州市西湖区", ["文三路478号华星时代广场", "古墩路702号"]),
         ("510107", "四川省成都市武侯区", ["人民南路四段27号", "天府大道北段1700号"])]
COMPANIES = ["上海华东贸易有限公司", "北京中科信达科技有限公司", "深圳市南海物流股份有限公司", "杭州西子文化传媒有限公司",
             "成都锦城建设工程有限公司"]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_number(rng: random.Random, area: str, born: tuple[int, int, int], male: bool) -> str:
    """A valid 18-digit resident ID number (GB 11643 check digit by python-stdnum)."""
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    stem = f"{area}{born[0]:04d}{born[1]:02d}{born[2]:02d}{seq:03d}"
    number = stem + ric.calc_check_digit(stem + "0")  # calc_check_digit ignores the last character
    assert ric.is_valid(number), number
    return number


def credit_code(rng: random.Random, area: str) -> str:
    stem = "91" + area + "".join(rng.choice(USCC_CHARS) for _ in range(9))
    code = stem + uscc.calc_check_digit(stem + "0")
    assert uscc.is_valid(code), code
    return code


def _date(rng: random.Random, first: int, last: int) -> tuple[int, int, int]:
    return rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28)


def contract_paragraphs(rng: random.Random, english: bool = False) -> list[str]:
    a, b = rng.sample(COMPANIES, 2)
    y, m, d = _date(rng, 2019, 2025)
    number = f"HT-{y}-{rng.randint(100, 9999):04d}"
    amount = f"{rng.randint(10, 990)},{rng.randint(0, 999):03d}.00"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    account = " ".join(f"{rng.randint(0, 9999):04d}" for _ in range(4))
    paragraphs = [
        f"第一条 甲方{a}（以下简称甲方）与乙方{b}（以下简称乙方）于{y}年{m}月{d}日签订本合同，合同编号{number}。",
        f"第二条 合同总金额为人民币{amount}元，乙方应于{y + 1}年{m}月{d}日前付清全部款项。",
        f"第三条 本合同有效期自{y}-{m:02d}-{d:02d}起至{y + 3}-{m:02d}-{d:02d}止，期满前30日内双方可协商续签。",
        f"第四条 联系人：{name}，电话{phone}，邮箱 service@example.com。",
        f"第五条 任何一方违约，应向守约方支付合同总金额{rng.randint(5, 30)}%的违约金。",
    ]
    if english:
        paragraphs += [
            f"Article 6 Payment shall be made by wire transfer to account {account} at Bank of China.",
            "Article 7 This Agreement is made in two counterparts with equal legal effect.",
        ]
    else:
        paragraphs += ["第六条 本合同一式两份，甲乙双方各执一份，具有同等法律效力。",
                       "第七条 因本合同引起的争议，提交上海国际仲裁中心仲裁。"]
    return paragraphs


CLOSING = set("，。、；：）》”！？%")  # never at the start of a line (simple kinsoku)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break into lines no wider than `width`: between any two characters (Chinese), never inside a Latin word."""
    lines, line = [], ""
    for token in _tokens(text):
        if line and face.getlength(line + token) > width and token not in CLOSING:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> Iterator[str]:
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            yield word
            word = ""
        yield ch
    if word:
        yield word


# --- Pages -----------------------------------------------------------------------------------------------


def text_page(lines: list[str], *, width: int = 1240, size: int = 30, margin: int = 70, serif: bool = False,
              title: str | None = None) -> tuple[Image.Image, list[str]]:
    """Render paragraphs, wrapped; returns the image and the lines as rendered (reading order)."""
    face, title_face = font(size, serif=serif), font(int(size * 1.4), serif=serif)
    rendered: list[tuple[str, ImageFont.FreeTypeFont, int]] = []
    if title:
        rendered.append((title, title_face, int((width - title_face.getlength(title)) / 2)))
    for paragraph in lines:
        rendered += [(line, face, margin) for line in wrap(paragraph, face, width - 2 * margin)]
    step = int(size * 1.75)
    height = margin * 2 + step * len(rendered) + (int(size * 0.8) if title else 0)
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    y = margin
    for text, face_, x in rendered:
        draw.text((x, y), text, fill=INK, font=face_)
        y += step + (int(size * 0.8) if face_ is title_face else 0)
    return image, [text for text, _, _ in rendered]


def id_card(rng: random.Random) -> tuple[Image.Image, list[str]]:
    """A resident-ID-like front side at about 300 dpi of the 85.6 x 54 mm card."""
    area, city, streets = rng.choice(AREAS)
    male = rng.random() < 0.5
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    born = _date(rng, 1994, 2004)  # every area code below existed by then (stdnum checks it)
    number = id_number(rng, area, born, male)
    fields = [("姓名", name), ("性别", "男" if male else "女"), ("民族", rng.choice(ETHNIC)),
              ("出生", f"{born[0]}年{born[1]}月{born[2]}日")]
    street = rng.choice(streets)
    w, h = 1010, 638
    image = Image.new("RGB", (w, h), (236, 240, 236))
    draw = ImageDraw.Draw(image)
    for k in range(0, w, 6):  # faint guilloche-like background
        y0 = h / 2 + 120 * math.sin(k / 37.0)
        draw.line([(k, y0), (k + 6, h / 2 + 120 * math.sin((k + 6) / 37.0))], fill=(214, 226, 222), width=2)
        draw.arc([k - 60, 40 + (k % 90), k + 60, 160 + (k % 90)], 0, 180, fill=(222, 232, 228))
    draw.rounded_rectangle([0, 0, w - 1, h - 1], 28, outline=(190, 200, 196), width=3)
    draw.rectangle([680, 110, 920, 410], fill=(205, 210, 214))  # the photo
    label, value, small = font(30), font(34), font(30)
    label_ink, value_ink = (60, 100, 150), INK
    x0, x1 = 70, 190
    lines: list[str] = []

    def put(y: int, items: list[tuple[int, str, ImageFont.FreeTypeFont, tuple]]) -> None:
        for x, text, face, ink in items:
            draw.text((x, y), text, fill=ink, font=face)
        lines.append(" ".join(text for _, text, _, _ in items))

    put(70, [(x0, fields[0][0], label, label_ink), (x1, fields[0][1], value, value_ink)])
    put(150, [(x0, "性别", label, label_ink), (x1, fields[1][1], value, value_ink),
              (320, "民族", label, label_ink), (440, fields[2][1], value, value_ink)])
    put(230, [(x0, "出生", label, label_ink), (x1, fields[3][1], value, value_ink)])
    put(310, [(x0, "住址", label, label_ink), (x1, city, value, value_ink)])
    put(365, [(x1, street, value, value_ink)])
    put(520, [(x0, "公民身份号码", small, label_ink), (330, number, font(38), value_ink)])
    return image, lines


def licence(rng: random.Random) -> tuple[Image.Image, list[str]]:
    area, city, streets = rng.choice(AREAS)
    company = rng.choice(COMPANIES)
    founded = _date(rng, 2000, 2022)
    rows = [("统一社会信用代码", credit_code(rng, area)), ("名称", company),
            ("类型", "有限责任公司（自然人投资或控股）"), ("法定代表人", rng.choice(SURNAMES) + rng.choice(GIVEN)),
            ("注册资本", f"人民币{rng.choice(['伍佰', '壹仟', '叁佰', '贰仟'])}万元整"),
            ("成立日期", f"{founded[0]}年{founded[1]:02d}月{founded[2]:02d}日"),
            ("住所", city + rng.choice(streets)),
            ("经营范围", "技术开发、技术咨询；货物进出口；日用百货销售。")]
    face = font(30)
    step = 56
    height = 200 + step * len(rows) + 60
    image = Image.new("RGB", (1240, height), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle([30, 30, 1210, height - 30], outline=(150, 120, 60), width=4)
    title = font(56)
    draw.text(((1240 - title.getlength("营业执照")) / 2, 70), "营业执照", fill=INK, font=title)
    lines = ["营业执照"]
    y = 190
    for key, value in rows:
        draw.text((90, y), key, fill=INK, font=face)
        draw.text((380, y), value, fill=INK, font=face)
        lines.append(f"{key} {value}")
        y += step
    return image, lines


def dates_page(rng: random.Random) -> tuple[Image.Image, list[str]]:
    y, m, d = _date(rng, 2018, 2026)
    issued = _date(rng, 2010, 2020)
    lines = [f"签订日期：{y}年{m}月{d}日", f"生效日期 {y}-{m:02d}-{d:02d}",
             f"Expiry Date: {d:02d}/{m:02d}/{y + 5}", f"有效期限 {issued[0]}.{issued[1]:02d}.{issued[2]:02d}-"
             f"{issued[0] + 20}.{issued[1]:02d}.{issued[2]:02d}", f"付款截止日 {y}年12月31日前",
             f"Signed on {['March', 'June', 'October'][rng.randrange(3)]} {d}, {y}"]
    return text_page(lines, width=1000, size=32)


# --- Degradations ----------------------------------------------------------------------------------------


def turn(image: Image.Image, degrees: float, fill=WHITE) -> Image.Image:
    """Turn clockwise by `degrees`, growing the canvas."""
    exact = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    if degrees % 360 in exact:
        return image.transpose(exact[degrees % 360])  # PIL's ROTATE_n turns counter-clockwise
    return image.rotate(-degrees, expand=True, fillcolor=fill, resample=Image.Resampling.BICUBIC)


def blur(image: Image.Image, radius: float = 1.4) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def jpeg(image: Image.Image, quality: int = 18) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def noise(image: Image.Image, rng: np.random.Generator, sigma: float = 22.0, salt: float = 0.004) -> Image.Image:
    arr = np.asarray(image, dtype=np.float32)
    arr = arr + rng.normal(0, sigma, arr.shape[:2])[..., None]
    spots = rng.random(arr.shape[:2])
    arr[spots < salt / 2] = 0
    arr[spots > 1 - salt / 2] = 255
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def low_contrast(image: Image.Image, ink: int = 125, paper: int = 190) -> Image.Image:
    arr = np.asarray(image, dtype=np.float32)
    return Image.fromarray((paper - (255 - arr) * (paper - ink) / 255).clip(0, 255).astype(np.uint8))


def shadow(image: Image.Image, darkest: float = 0.42) -> Image.Image:
    """A phone's own shadow: light falling off from one corner to the opposite edge."""
    h, w = image.height, image.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.clip((xx / w * 0.7 + yy / h * 0.5) - 0.25, 0, 1)
    factor = 1 - (1 - darkest) * ramp
    arr = np.asarray(image, dtype=np.float32) * factor[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def seal(image: Image.Image, centre: tuple[int, int], radius: int = 130, text: str = "上海华东贸易有限公司") -> Image.Image:
    """A red company seal printed over the page (multiplied: black ink stays black under it)."""
    layer = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(layer)
    cx, cy = centre
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=255, width=max(6, radius // 18))
    star = [(cx + radius * 0.28 * math.cos(math.radians(-90 + k * 36)) * (1 if k % 2 == 0 else 0.42),
             cy + radius * 0.28 * math.sin(math.radians(-90 + k * 36)) * (1 if k % 2 == 0 else 0.42))
            for k in range(10)]
    draw.polygon(star, fill=255)
    face = font(max(14, radius // 5))
    span = 240.0
    for k, ch in enumerate(text):  # the company name along the upper arc, letters facing the centre
        angle = -90 - span / 2 + span * (k + 0.5) / len(text)
        glyph = Image.new("L", (radius // 4, radius // 4), 0)
        ImageDraw.Draw(glyph).text((0, 0), ch, fill=255, font=face)
        glyph = glyph.rotate(-(angle + 90), expand=True)
        gx = cx + (radius * 0.74) * math.cos(math.radians(angle)) - glyph.width / 2
        gy = cy + (radius * 0.74) * math.sin(math.radians(angle)) - glyph.height / 2
        layer.paste(255, (int(gx), int(gy)), glyph)
    label = "合同专用章"
    draw.text((cx - face.getlength(label) / 2, cy + radius * 0.42), label, fill=255, font=face)
    alpha = np.asarray(layer, dtype=np.float32)[..., None] / 255 * 0.85
    red = np.array([205, 30, 40], dtype=np.float32)
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    out = base * (1 - alpha) + base * red / 255 * alpha
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))


def scale(image: Image.Image, factor: float) -> Image.Image:
    return image.resize((int(image.width * factor), int(image.height * factor)), Image.Resampling.LANCZOS)


# --- The set ---------------------------------------------------------------------------------------------


def samples(seed: int = SEED, only: set[str] | frozenset[str] | None = None) -> list[Sample]:
    """33 labelled images (see the module docstring), the same for every call with the same seed.

    `only` builds just the named samples (the same images as in the full set: every degradation draws its
    noise from a generator seeded by the sample's name).
    """
    rng = random.Random(seed)
    out: list[Sample] = []

    def add(name: str, make, lines: list[str], kind: str, rotation: int = 0) -> None:
        if only is None or name in only:
            out.append(Sample(name, make(np.random.default_rng([seed, zlib.crc32(name.encode())])),
                              "\n".join(lines), kind, rotation))

    contract, contract_lines = text_page(contract_paragraphs(rng), title="销售合同")
    contract2, contract2_lines = text_page(contract_paragraphs(rng, english=True), serif=True, title="服务协议")
    bilingual, bilingual_lines = text_page(contract_paragraphs(rng, english=True), size=24, width=1100)
    cards = [id_card(rng) for _ in range(3)]
    lic, lic_lines = licence(rng)
    dates, dates_lines = dates_page(rng)
    snippet, snippet_lines = text_page(contract_paragraphs(rng)[:2], width=1000, size=30)
    card_paper = (236, 240, 236)

    add("contract_clean", lambda _: contract, contract_lines, "clean")
    add("contract_serif_clean", lambda _: contract2, contract2_lines, "clean")
    add("contract_small_print", lambda _: bilingual, bilingual_lines, "clean")
    for k, (card, lines) in enumerate(cards, 1):
        add(f"id_card_{k}_clean", lambda _, card=card: card, lines, "clean")
    add("licence_clean", lambda _: lic, lic_lines, "clean")
    add("dates_clean", lambda _: dates, dates_lines, "clean")
    add("snippet_clean", lambda _: snippet, snippet_lines, "clean")

    for degrees in (90, 180, 270):
        add(f"snippet_rot{degrees}", lambda _, d=degrees: turn(snippet, d), snippet_lines, "rotated", degrees)
    add("contract_rot90", lambda _: turn(contract, 90), contract_lines, "rotated", 90)
    add("id_card_1_rot270", lambda _: turn(cards[0][0], 270), cards[0][1], "rotated", 270)
    add("licence_rot180", lambda _: turn(lic, 180), lic_lines, "rotated", 180)
    add("id_card_2_rot90_photo", lambda _: jpeg(turn(shadow(turn(cards[1][0], 2.0, card_paper), 0.6), 90), 35),
        cards[1][1], "rotated", 90)

    add("contract_blur", lambda _: blur(contract), contract_lines, "degraded")
    add("contract_jpeg", lambda _: jpeg(contract, 15), contract_lines, "degraded")
    add("contract_noise", lambda g: noise(contract, g), contract_lines, "degraded")
    add("contract_low_contrast", lambda _: low_contrast(contract), contract_lines, "degraded")
    add("contract_shadow", lambda _: shadow(contract), contract_lines, "degraded")
    add("contract_skew", lambda _: turn(contract, 3.0), contract_lines, "degraded")
    add("contract_seal", lambda _: seal(contract, (900, contract.height - 260), 150), contract_lines, "degraded")
    add("contract_phone_photo",
        lambda g: jpeg(noise(shadow(low_contrast(turn(contract2, -2.0), 110, 200), 0.55), g, 12), 30),
        contract2_lines, "degraded")
    add("small_print_blur_jpeg", lambda _: jpeg(blur(bilingual, 0.9), 30), bilingual_lines, "degraded")
    add("id_card_1_photo", lambda g: jpeg(noise(shadow(turn(cards[0][0], -2.5, card_paper), 0.55), g, 14), 30),
        cards[0][1], "degraded")
    add("id_card_3_low_res", lambda _: blur(scale(cards[2][0], 0.55), 0.6), cards[2][1], "degraded")
    add("id_card_2_seal", lambda _: seal(cards[1][0], (520, 330), 120, "北京市公安局朝阳分局"), cards[1][1], "degraded")
    add("licence_seal", lambda _: seal(lic, (880, lic.height - 220), 140, lic_lines[2].split(" ", 1)[1]), lic_lines,
        "degraded")
    add("dates_blur_noise", lambda g: noise(blur(dates, 1.1), g, 16), dates_lines, "degraded")
    add("contract_heavy_blur", lambda _: blur(contract, 2.2), contract_lines, "degraded")
    add("contract_jpeg_q8", lambda _: jpeg(scale(contract, 0.8), 8), contract_lines, "degraded")
    add("id_card_2_far_photo", lambda g: jpeg(noise(scale(turn(cards[1][0], 1.5, card_paper), 0.4), g, 10), 40),
        cards[1][1], "degraded")
    if only is not None and len(out) != len(only):
        raise KeyError(f"no such samples: {sorted(set(only) - {s.name for s in out})}")
    return out


def blank_page(size: tuple[int, int] = (1000, 700)) -> Image.Image:
    return Image.new("RGB", size, WHITE)


def noise_page(size: tuple[int, int] = (1000, 700), seed: int = SEED) -> Image.Image:
    """Paper texture and speckle, no text: an engine should find little here, and trust it less."""
    rng = np.random.default_rng(seed)
    arr = rng.normal(200, 40, (size[1], size[0])).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr).filter(ImageFilter.GaussianBlur(0.8)).convert("RGB")
