"""Known names: every label and alias of the lexicons, matched with one Aho-Corasick automaton."""
from __future__ import annotations

import functools

import ahocorasick

from ..lexicon import load_lexicons
from .base import Context, entity_pass

CONFIDENCE = 0.9


@functools.lru_cache(maxsize=1)
def automaton():
    """Surface form -> list of (entry, form); built once per process."""
    forms: dict[str, list] = {}
    for entry in load_lexicons():
        for form in (entry.label, *entry.aliases):
            forms.setdefault(form, []).append(entry)
    auto = ahocorasick.Automaton()
    for form, entries in forms.items():
        auto.add_word(form, (form, tuple(entries)))
    auto.make_automaton()
    return auto


@functools.lru_cache(maxsize=1)
def entries_by_label() -> dict[tuple[str, str], object]:
    return {(e.cls, e.label): e for e in load_lexicons()}


def is_ambiguous(entry) -> bool:
    return str(dict(entry.attrs).get("ambiguous", "")) in {"1", "true", "yes"}


@entity_pass("lexicon")
def lexicon(ctx: Context) -> None:
    text = ctx.text
    for end_index, (form, entries) in automaton().iter(text):
        start, end = end_index - len(form) + 1, end_index + 1
        for entry in entries:
            attrs = dict(entry.attrs)
            confidence = CONFIDENCE
            if is_ambiguous(entry):
                # An ambiguous short name counts only where the segmenter also sees a word.
                if start not in ctx.boundaries or end not in ctx.boundaries:
                    continue
                confidence = 0.6
            ctx.add(entry.cls, entry.label, start, end, "lexicon", confidence,
                    aliases=(form,), **{k: v for k, v in attrs.items() if k != "ambiguous"})
