"""Known names: every label and alias of the lexicons, matched with one Aho-Corasick automaton."""
from __future__ import annotations

import functools

import ahocorasick

from .base import Context, entity_pass, lexicon_entries

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
    """Surface form -> (form, entries); built once per process."""
    auto = ahocorasick.Automaton()
    for form, entries in _forms().items():
        auto.add_word(form, (form, entries))
    auto.make_automaton()
    return auto


@functools.lru_cache(maxsize=1)
def _readings() -> dict[str, tuple]:
    """Surface form -> (entry, its exclude words, ambiguous?, the attributes a mention keeps)
    for each entry: what the lexicon pass asks of an entry, worked out once, not per match."""
    return {form: tuple((e, e.list_attr("exclude"), e.is_ambiguous(form),
                         {k: e.attrs[k] for k in KEEP_ATTRS if k in e.attrs}) for e in entries)
            for form, entries in _forms().items()}


def matches(ctx: Context) -> list[tuple[int, tuple]]:
    """Every lexicon match in the document: (end index, (form, entries)). Several passes read
    them, and scanning the text is the costly part, so it is done once per document."""
    if "lexicon_matches" not in ctx.memo:
        ctx.memo["lexicon_matches"] = list(automaton().iter(ctx.text))
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
        for entry, excluded, ambiguous, attrs in readings[form]:
            if excluded and inside_excluded_word(text, start, end, excluded):
                continue
            confidence = CONFIDENCE
            if ambiguous:
                # An ambiguous name counts only where the segmenter also sees a word there.
                if not ctx.is_word(start, end):
                    continue
                confidence = 0.6
            ctx.add(entry.cls, entry.label, start, end, "lexicon", confidence,
                    aliases=(form,), **attrs)
