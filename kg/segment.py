"""Sentences and words: split a document once, so every pass reads the same units."""
from __future__ import annotations

import bisect
import functools
import importlib.util
import re
from pathlib import Path

import rjieba

from .config import patterns
from .model import Sentence


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


@functools.lru_cache(maxsize=65536)
def word_tag(word: str) -> str:
    """The part-of-speech tag jieba's dictionary gives a word ("" if it is not a dictionary word).

    rjieba holds the same dictionary, tags included (tests/test_segment.py): asking it costs a
    few microseconds a word, where loading jieba's table of 349,000 tags into a dict took 0.25 s
    and about 40 MB in every build process before its first document."""
    if not rjieba.has_word(word):
        return ""
    pairs = rjieba.tag(word, False)
    if len(pairs) == 1:          # a dictionary word that jieba cuts as itself: its own tag
        return pairs[0][1]
    # A dictionary word that jieba cuts into smaller ones (2 % of them, rarely asked for):
    # its line in jieba's dictionary file, "word freq tag".
    text = _dictionary_text()
    at = text.find(f"\n{word} ")
    fields = text[at + 1:text.find("\n", at + 1)].split(" ") if at >= 0 else []
    return fields[2] if len(fields) > 2 else ""


@functools.lru_cache(maxsize=1)
def _dictionary_text() -> str:
    """jieba's dictionary file (lines "word freq tag"), after a newline so every line starts
    with one."""
    spec = importlib.util.find_spec("jieba")
    path = Path(spec.submodule_search_locations[0]) / "dict.txt"
    return "\n" + path.read_text(encoding="utf-8")


def paragraph_of(text: str, sentences: list[Sentence]) -> list[int]:
    """Paragraph number of each sentence (paragraphs are separated by newlines in doc.text)."""
    out, para, last = [], 0, 0
    for s in sentences:
        para += text.count("\n", last, s.start)
        last = s.start
        out.append(para)
    return out
