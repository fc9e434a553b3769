"""Sentences and words: split a document once, so every pass reads the same units."""
from __future__ import annotations

import bisect
import functools
import importlib.util
import re
from pathlib import Path

import rjieba

from .config import patterns
from .model import Document, Sentence


@functools.lru_cache(maxsize=1)
def _piece() -> re.Pattern:
    enders = re.escape(patterns()["sentence"]["enders"])
    # A sentence ends after an ender (plus any closing quote marks), at a newline or at the end.
    return re.compile(rf"[^{enders}\n]*(?:[{enders}][”’」』\"]*|\n|\Z)")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into `text`; a newline always ends one, closing quotes stay with it."""
    sentences: list[Sentence] = []
    for m in _piece().finditer(text):
        piece = m.group()
        body = piece.strip()     # offsets point at the sentence's first and last characters
        if body:
            start = m.start() + len(piece) - len(piece.lstrip())
            sentences.append(Sentence(len(sentences), start, start + len(body), body))
    return sentences


def sentence_at(sentences: list[Sentence], offset: int, starts: list[int] | None = None) -> int:
    """Index of the sentence holding `offset` (binary search), or -1. `starts`: the sentences'
    start offsets, for a caller that looks up many offsets in the same sentences."""
    if starts is None:
        starts = [s.start for s in sentences]
    i = bisect.bisect_right(starts, offset) - 1
    return i if i >= 0 and offset < sentences[i].end else -1


@functools.lru_cache(maxsize=4096)
def cut_words(text: str, hmm: bool = False) -> tuple[str, ...]:
    """jieba's words of a short text. Passes segment small windows around candidate names, and
    the same phrases come back across documents: cut each window once.

    The cutting is jieba's algorithm and dictionary run by rjieba (jieba-rs): the same words
    (tests/test_segment.py), ten times faster, and without the 1 s dictionary load that
    Python jieba makes in every process before its first cut."""
    return tuple(rjieba.cut(text, hmm))


def word_boundaries(doc: Document) -> set[int]:
    """Offsets in doc.text where jieba puts a word boundary (segmentation runs once per document)."""
    bounds = {0, len(doc.text)}
    pos = 0
    for word in rjieba.cut(doc.text, False):
        pos += len(word)
        bounds.add(pos)
    return bounds


@functools.lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    """jieba's part-of-speech table (word -> tag), read from jieba's dictionary file as
    jieba.posseg reads it (tests/test_segment.py), without importing jieba: twice as fast."""
    spec = importlib.util.find_spec("jieba")
    path = Path(spec.submodule_search_locations[0]) / "dict.txt"     # lines: word freq tag
    text = path.read_text(encoding="utf-8")
    fields, lines = text.split(), text.count("\n") + (not text.endswith("\n"))
    if (len(fields) == 3 * lines and text.count(" ") == 2 * lines and "\r" not in text
            and "".join(fields[1::3]).isdigit()):
        # Every line is "word freq tag": one split of the whole file (a third faster).
        return dict(zip(fields[0::3], fields[2::3]))
    return dict(_DICT_LINE.findall(text))


_DICT_LINE = re.compile(r"^(\S+) \S+ (\S+)$", re.M)


def word_tag(word: str) -> str:
    """The part-of-speech tag jieba's dictionary gives a word ("" if it is not a dictionary word)."""
    return _word_tags().get(word, "")


def paragraph_of(text: str, sentences: list[Sentence]) -> list[int]:
    """Paragraph number of each sentence (paragraphs are separated by newlines in doc.text)."""
    out, para, last = [], 0, 0
    for s in sentences:
        para += text.count("\n", last, s.start)
        last = s.start
        out.append(para)
    return out
