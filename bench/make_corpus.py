"""Make a realistic corpus of a given size from the project's own articles.

    python bench/make_corpus.py --mb 20 --out /tmp/corpus-20mb [--seed 0]

Each generated article is a new mix: its sentences are drawn from all source articles (seeds/ and
tests/dev/articles/), and the names in them are varied from the lexicons (ontology/lexicons/): a
place becomes another place of the same kind (so `上海边检总站` becomes another province's station
and unit chains name new units), a known person becomes a new name made from ontology/surnames.txt,
and campaigns, measures, laws and crime types are swapped for other entries of their class. Names
are varied consistently within an article, so the graph grows with the corpus instead of repeating
five documents. Traditional-script sources stay Traditional (their new names are converted), so the
corpus keeps the share of Traditional text the sources have. Output is deterministic for a seed.
"""
from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ahocorasick  # noqa: E402
import yaml  # noqa: E402

from kg.ingest import read_document  # noqa: E402
from kg.lexicon import LexEntry, load_lexicons  # noqa: E402
from kg.segment import split_sentences  # noqa: E402

SOURCES = (ROOT / "seeds", ROOT / "tests" / "dev" / "articles")
SWAPPED = ("Location", "Campaign", "Measure", "Law", "CrimeType")
SWAP_SHARE = 0.7           # share of known names that get a new name (the rest stay as written)
# Characters of given names, for made-up people (any common ones do; they need not be real names).
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红文辉亮林斌宇浩凯晨欣怡"


@dataclass
class Source:
    script: str                  # Hans or Hant
    sentences: list[tuple[str, str]]   # (Simplified text for matching, text as written)


def load_sources(dirs=SOURCES) -> list[Source]:
    out = []
    for d in dirs:
        for path in sorted(Path(d).glob("*.txt")):
            doc = read_document(path)
            written = doc.original or doc.text
            sents = [(s.text, written[s.start:s.end]) for s in split_sentences(doc.text)]
            out.append(Source(doc.script, [s for s in sents if len(s[0]) >= 6]))
    return out


class NameVariation:
    """Finds lexicon names in a sentence and gives them new ones, the same within one article."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        entries = load_lexicons()
        self.auto = ahocorasick.Automaton()
        for e in entries:
            for form in e.surfaces:
                if not e.is_ambiguous(form):      # ordinary words (中山, 天网) are left alone
                    self.auto.add_word(form, (form, e))
        self.auto.make_automaton()
        self.kind = {e.label: e.attrs.get("kind", "") for e in entries if e.cls == "Location"}
        self.pool: dict[tuple[str, str], list[str]] = {}
        for e in entries:
            if e.cls in SWAPPED and not e.ambiguous:
                self.pool.setdefault((e.cls, e.attrs.get("kind", "")), []).append(e.label)
        surnames = (ROOT / "ontology" / "surnames.txt").read_text(encoding="utf-8")
        self.surnames = [w for line in surnames.splitlines() if not line.startswith("#")
                         for w in line.split()]
        self.s2t = None

    def new_article(self) -> None:
        self.chosen: dict[str, str] = {}

    def vary(self, simplified: str, written: str, script: str) -> str:
        out, pos = [], 0
        for start, end, entry in self._matches(simplified):
            new = self._new_name(entry, simplified[start:end])
            if new is None:
                continue
            out += [written[pos:start], self._to_script(new, script)]
            pos = end
        out.append(written[pos:])
        return "".join(out)

    def _matches(self, text: str):
        """Longest matches, left to right, without overlaps."""
        found = sorted(((end - len(form) + 1, end + 1, e) for end, (form, e) in self.auto.iter(text)),
                       key=lambda m: (m[0], -(m[1] - m[0])))
        last = 0
        for start, end, e in found:
            if start >= last:
                yield start, end, e
                last = end

    def _new_name(self, entry: LexEntry, form: str) -> str | None:
        key = f"{entry.cls}:{form}"
        if key not in self.chosen:
            self.chosen[key] = self._pick(entry, form) if self.rng.random() < SWAP_SHARE else None
        return self.chosen[key]

    def _pick(self, entry: LexEntry, form: str) -> str | None:
        if entry.cls == "Person":
            return self.rng.choice(self.surnames) + "".join(
                self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        if entry.cls == "Agency":
            # A unit named after its place gets another place of the same kind: a new unit.
            place = entry.attrs.get("location")
            if place and place in form:
                other = self.rng.choice(self.pool.get(("Location", self.kind.get(place, ""))) or [place])
                return form.replace(place, other)
            return None
        choices = self.pool.get((entry.cls, entry.attrs.get("kind", "")))
        return self.rng.choice(choices) if choices else None

    def _to_script(self, name: str, script: str) -> str:
        if script != "Hant":
            return name
        if self.s2t is None:
            import opencc
            self.s2t = opencc.OpenCC("s2t")
        return self.s2t.convert(name)


def make_article(rng: random.Random, names: NameVariation, sources: list[Source], index: int) -> str:
    """One article: a title, front matter for half of them, paragraphs of resampled sentences."""
    shape = rng.choice(sources)                       # length and script of a real article
    pool = [s for src in sources if src.script == shape.script for s in src.sentences]
    names.new_article()
    drawn = rng.sample(pool, min(len(pool), max(5, len(shape.sentences))))   # no repeats
    picked = [names.vary(simplified, written, shape.script) for simplified, written in drawn]
    # A title is a short sentence of the article, without its final mark.
    title = next((s for s in picked if 8 <= len(s) <= 40), picked[0][:30]).rstrip("。！？!?；;，,")
    body = picked
    paragraphs, i = [], 0
    while i < len(body):
        n = rng.randint(1, 5)
        paragraphs.append("".join(body[i:i + n]))
        i += n
    head = f"# {title}\n\n"
    if rng.random() < 0.5:
        date = f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        meta = {"title": title, "date": date, "source": f"bench article {index}"}
        head = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + head
    return head + "\n\n".join(paragraphs) + "\n"


def article_path(out: Path, index: int) -> Path:
    return out / f"{index // 1000:03d}" / f"article_{index:06d}.txt"


def make_corpus(out: Path, megabytes: float, seed: int = 0, first: int = 0,
                count: int | None = None) -> tuple[int, int]:
    """Write articles until `megabytes` (or `count` articles); returns (articles, bytes)."""
    rng = random.Random(seed)
    sources = load_sources()
    names = NameVariation(rng)
    target = int(megabytes * 1_000_000)
    n = size = 0
    while (size < target) if count is None else (n < count):
        data = make_article(rng, names, sources, first + n).encode("utf-8")
        path = article_path(out, first + n)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        n, size = n + 1, size + len(data)
    return n, size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=20.0, help="size of the corpus in MB (default 20)")
    ap.add_argument("--count", type=int, help="make this many articles instead of --mb")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the articles to")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first", type=int, default=0, help="number of the first article (for adding to a corpus)")
    args = ap.parse_args(argv)
    n, size = make_corpus(args.out, args.mb, args.seed, args.first, args.count)
    print(f"{args.out}: {n} articles, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
