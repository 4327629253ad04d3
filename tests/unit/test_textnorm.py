"""Normalization, tokenization and query parsing for search (adapters/textnorm.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from clientfolio.adapters import textnorm
from clientfolio.adapters.textnorm import BIGRAM, WORD, normalize, query_terms, tokens


def test_full_width_folds_to_half_width_and_latin_is_case_folded():
    assert normalize("ＩＤ１２３") == "id123"
    assert normalize("ＡＢＣ　Ｄｅｆ") == "abc def"
    assert normalize("Straße") == "strasse"


def test_traditional_folds_to_simplified():
    assert normalize("營業執照") == "营业执照"
    assert normalize("身份證 護照 臺灣") == "身份证 护照 台湾"
    assert normalize("营业执照") == "营业执照"  # simplified stays as it is


def test_word_stream_segments_chinese_and_stems_english():
    words, _ = textnorm.analyze("本公司的营业执照 signed Contracts")
    assert "营业执照" in words
    assert words[-2:] == ["sign", "contract"]


def test_bigram_stream_covers_every_adjacent_pair_and_lone_characters():
    _, bigrams = textnorm.analyze("营业执照，证")
    assert bigrams == ["营业", "业执", "执照", "证"]


def test_numbers_stay_whole_and_dates_split_into_their_parts():
    words, bigrams = textnorm.analyze("身份证号11010519491231002X，签发于2025-01-01")
    assert "11010519491231002x" in words
    assert words[-3:] == ["2025", "01", "01"]
    assert "11010519491231002x" in bigrams  # digits never become bigrams


def test_tokens_have_consecutive_positions_per_stream_and_offsets_into_normalized_text():
    text = "ＩＤ１２３号 營業執照"
    toks = tokens(text)
    norm = normalize(text)
    for stream in (WORD, BIGRAM):
        positions = [t.position for t in toks if t.stream == stream]
        assert positions == list(range(len(positions)))
    for t in toks:
        assert norm[t.start:t.end] == t.text
    assert [t.text for t in toks if t.stream == WORD] == ["id123", "号", "营业执照"]
    assert [t.text for t in toks if t.stream == BIGRAM] == ["id123", "号", "营业", "业执", "执照"]


def test_search_mode_adds_sub_words():
    words, _ = textnorm.analyze("营业执照", mode="search")
    assert {"营业", "执照", "营业执照"} <= set(words)
    with pytest.raises(ValueError):
        textnorm.analyze("x", mode="fuzzy")


def test_query_terms_are_anded_and_quoted_phrases_stay_together():
    q = query_terms('營業執照 "signed contracts" 2025-01-01 张伟,李娜')
    assert [t.text for t in q.terms] == ["营业执照", "signed contracts", "2025-01-01", "张伟", "李娜"]
    phrase = q.terms[1]
    assert phrase.quoted and phrase.words == ("sign", "contract")
    assert q.terms[2].words == ("2025", "01", "01")
    assert q.terms[0].bigrams == ("营业", "业执", "执照") and q.terms[0].has_cjk
    assert not q.terms[1].has_cjk


def test_chinese_quotes_and_empty_queries():
    assert [t.text for t in query_terms("“北京大学”").terms] == ["北京大学"]
    assert not query_terms("")
    assert not query_terms("  ，。!! ")
    assert query_terms('"unclosed phrase').terms[0].words == ("unclos", "phrase")


def test_plain_jieba_fallback_segments_like_rjieba_quietly_with_its_cache_where_we_say(tmp_path, capfd):
    pytest.importorskip("jieba")
    sample = "我们在北京大学办理营业执照副本，张伟签字确认个人所得税"
    try:
        fast = textnorm.analyze(sample)
        before = set(Path(tempfile.gettempdir()).glob("jieba*.cache"))
        assert textnorm.use_segmenter("jieba", cache_dir=tmp_path / "cache") == "jieba"
        assert textnorm.analyze(sample) == fast
        assert (tmp_path / "cache" / "jieba.cache").exists()
        assert set(Path(tempfile.gettempdir()).glob("jieba*.cache")) == before
        assert capfd.readouterr().err == ""  # jieba logs nothing
    finally:
        textnorm.use_segmenter()
