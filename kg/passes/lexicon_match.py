"""Known names: every label and alias of the lexicons, matched with one Aho-Corasick automaton."""
from __future__ import annotations

import functools

import ahocorasick

from ..lexicon import load_lexicons
from .base import Context, entity_pass

CONFIDENCE = 0.9
KEEP_ATTRS = ("parent", "location", "kind", "title", "heads", "term", "managed_by")


@functools.lru_cache(maxsize=1)
def automaton():
    """Surface form -> (form, entries); built once per process."""
    forms: dict[str, list] = {}
    for entry in load_lexicons():
        for form in entry.surfaces:
            forms.setdefault(form, []).append(entry)
    auto = ahocorasick.Automaton()
    for form, entries in forms.items():
        auto.add_word(form, (form, tuple(entries)))
    auto.make_automaton()
    return auto


def inside_excluded_word(text: str, start: int, end: int, entry) -> bool:
    """Is this match part of a longer word the entry says is not it (朝鲜族, 制毒物品)?"""
    for word in entry.list_attr("exclude"):
        offset = word.find(text[start:end])
        while offset >= 0:
            if text.startswith(word, start - offset):
                return True
            offset = word.find(text[start:end], offset + 1)
    return False


@entity_pass("lexicon")
def lexicon(ctx: Context) -> None:
    text = ctx.text
    for end_index, (form, entries) in automaton().iter(text):
        start, end = end_index - len(form) + 1, end_index + 1
        for entry in entries:
            if inside_excluded_word(text, start, end, entry):
                continue
            confidence = CONFIDENCE
            if entry.is_ambiguous(form):
                # An ambiguous name counts only where the segmenter also sees a word there.
                if not ctx.is_word(start, end):
                    continue
                confidence = 0.6
            attrs = {k: entry.attrs[k] for k in KEEP_ATTRS if k in entry.attrs}
            ctx.add(entry.cls, entry.label, start, end, "lexicon", confidence,
                    aliases=(form,), **attrs)
