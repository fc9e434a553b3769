import re
from pathlib import Path

import jieba
import pytest

from kg.ingest import read_document
from kg.segment import cut_words, paragraph_of, sentence_at, split_sentences, word_tag

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "tests" / "dev" / "articles").glob("*"))


def test_sentences_keep_offsets_and_closing_quotes():
    text = "他说：“要严查。”随后离开！\n新段落第一句；第二句"
    sents = split_sentences(text)
    assert [s.text for s in sents] == ["他说：“要严查。”", "随后离开！", "新段落第一句；", "第二句"]
    for s in sents:
        assert text[s.start:s.end] == s.text


def test_sentence_at_finds_the_sentence_of_an_offset():
    text = "甲乙。丙丁。戊"
    sents = split_sentences(text)
    assert sentence_at(sents, 0) == 0
    assert sentence_at(sents, 3) == 1
    assert sentence_at(sents, 6) == 2
    assert sentence_at(sents, 99) == -1


def test_paragraphs_count_newlines():
    text = "一。二。\n三。\n\n四。"
    sents = split_sentences(text)
    assert paragraph_of(text, sents) == [0, 0, 1, 3]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    jieba.setLogLevel(60)
    return [read_document(p).text for p in ARTICLES]


def test_rjieba_cuts_as_jieba_does(texts):
    """The passes cut with rjieba (jieba's algorithm and dictionary in Rust); it must give
    Python jieba's words: whole texts without HMM, and, with HMM, the first word of the windows
    persons.py reads (eight characters from a Chinese character). (With HMM the two differ on
    Latin runs later in a window: rjieba keeps `T3-D` whole where jieba gives T3, -, D.)"""
    for text in texts:
        assert list(cut_words(text)) == list(jieba.cut(text, HMM=False))
        for m in re.finditer(r"[\u4e00-\u9fff]", text[::5]):
            window = text[m.start() * 5:m.start() * 5 + 8]
            assert cut_words(window, hmm=True)[0] == next(jieba.cut(window, HMM=True)), window


def test_word_tags_are_jiebas():
    """word_tag asks rjieba's dictionary; it must give the tag of jieba's own table (what
    jieba.posseg uses) for dictionary words, those jieba cuts into smaller words included,
    and "" for anything else."""
    import jieba.posseg
    import rjieba
    table = jieba.posseg.dt.word_tag_tab
    words = sorted(table)
    split = [w for w in words[::7] if len(rjieba.tag(w, False)) > 1]
    assert len(split) > 100          # the file lookup is exercised, not only rjieba's tags
    for word in words[::20] + split:
        assert word_tag(word) == table[word], word
    for other in ("不是一个词语", "", " ", "移民 管理", "张三丰收", "x\n移民"):
        assert word_tag(other) == table.get(other, ""), other
    assert word_tag("移民") == table["移民"]


