"""Known names: every label and alias of the lexicons, matched with one Aho-Corasick automaton."""
from __future__ import annotations

import functools

import ahocorasick

from ..lexicon import lexicon_entries
from .base import Context, clean_name, entity_pass

CONFIDENCE = 0.9
KEEP_ATTRS = ("parent", "location", "kind", "title", "heads", "term", "managed_by")


@functools.lru_cache(maxsize=1)
def _forms() -> dict[str, tuple]:
    """Surface form -> the entries that have it."""
    forms: dict[str, list] = {}
    for entry in lexicon_entries():
        for form in entry.surfaces:
            forms.setdefault(form, []).append(entry)
    return {form: tuple(entries) for form, entries in forms.items()}


@functools.lru_cache(maxsize=1)
def automaton():
    """Surface form (spelled as by _wide) -> (form, entries); built once per process."""
    auto = ahocorasick.Automaton()
    for form, entries in _forms().items():
        auto.add_word(_wide(form), (form, entries))
    auto.make_automaton()
    return auto


def _wide(text: str) -> str:
    """Each character as its four UTF-32 bytes, one letter each ('中' -> '\\x00\\x00N-'); a lone
    surrogate (from a damaged file) too."""
    return text.encode("utf-32-be", "surrogatepass").decode("latin-1")


def find_forms(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, tuple]]:
    """Every lexicon form in text[start:end]: (index in text of its last character, (form, entries)),
    in the order of an Aho-Corasick scan of the characters.

    pyahocorasick looks a letter up among a node's children one by one, and the root of an
    automaton of Chinese names has hundreds of children (532): most characters of a text cost
    a scan of all of them. Spelled in bytes, no node has more than 75, and the scan is
    two to three times faster. A match counts only if it ends on the last byte of a character."""
    found = automaton().iter(_wide(text[start:end]))
    return [(start + last // 4, value) for last, value in found if last % 4 == 3]


@functools.lru_cache(maxsize=1)
def _readings() -> dict[str, tuple]:
    """Surface form -> (class, name, exclude words, ambiguous?, the attributes a mention keeps,
    aliases) for each entry: what ctx.add would work out for every match, worked out once."""
    out = {}
    for form, entries in _forms().items():
        readings = []
        for e in entries:
            name = clean_name(e.label)
            if name:
                readings.append((e.cls, name, e.list_attr("exclude"), e.is_ambiguous(form),
                                 {k: e.attrs[k] for k in KEEP_ATTRS if k in e.attrs},
                                 (form,) if form != name else ()))
        out[form] = tuple(readings)
    return out


def matches(ctx: Context) -> list[tuple[int, tuple]]:
    """Every lexicon match in the document: (end index, (form, entries)). Several passes read
    them, and scanning the text is the costly part, so it is done once per document."""
    if "lexicon_matches" not in ctx.memo:
        ctx.memo["lexicon_matches"] = find_forms(ctx.text)
    return ctx.memo["lexicon_matches"]


def inside_excluded_word(text: str, start: int, end: int, excluded: tuple[str, ...]) -> bool:
    """Is this match part of a longer word the entry says is not it (朝鲜族, 制毒物品)?"""
    for word in excluded:
        offset = word.find(text[start:end])
        while offset >= 0:
            if text.startswith(word, start - offset):
                return True
            offset = word.find(text[start:end], offset + 1)
    return False


@entity_pass("lexicon")
def lexicon(ctx: Context) -> None:
    text = ctx.text
    readings = _readings()
    for end_index, (form, _) in matches(ctx):
        start, end = end_index - len(form) + 1, end_index + 1
        for cls, name, excluded, ambiguous, attrs, aliases in readings[form]:
            if excluded and inside_excluded_word(text, start, end, excluded):
                continue
            confidence = CONFIDENCE
            if ambiguous:
                # An ambiguous name counts only where the segmenter also sees a word there.
                if not ctx.is_word(start, end):
                    continue
                confidence = 0.6
            ctx.append(cls, name, start, end, "lexicon", confidence, aliases, dict(attrs))
