"""The merged corpus kept between rebuilds, for `kg build --watch`.

`kg.resolve.merge` and `kg.rdf.corpus_part` go over every document at every build: about half
a second for 5,000 articles, most of a rebuild when one article was added. A `LiveCorpus`
keeps what they made, and when documents come, go or change, it works out again only the
entities those documents name (and the relations they state): an entity is a fold over the
documents that name it, taken in input order, so folding again over its own documents gives
what a whole merge would. The result is the same, byte for byte, as `merge` and `corpus_part`
on the same digests in the same order (test_incremental checks this after adds, edits and
removals); only the work differs.
"""
from __future__ import annotations

from itertools import chain

from .rdf import document_block, entity_block, relation_pair, report_pair
from .resolve import Entity, Evidence, Resolved, ResolvedRelation


class LiveCorpus:
    """update(digests) -> (Resolved, (triples, Turtle of the corpus part)), as merge and
    corpus_part would give them, redoing only what changed since the previous update."""

    def __init__(self) -> None:
        self.docs: dict[str, object] = {}                        # doc id -> its Digest
        # Who says what: IRI or relation key -> {doc id: row in that document's digest}
        self.naming: dict[str, dict[str, int]] = {}
        self.stating: dict[tuple, dict[str, int]] = {}
        self.keys_of: dict[str, set[tuple]] = {}                 # subject IRI -> relation keys
        # reporter IRI -> {doc id: its kgo:reports pairs there, made when first needed}
        self.reporting: dict[str, dict[str, list | None]] = {}
        # What was made of them, and where each was first found: (doc id, row)
        self.entities: dict[str, Entity] = {}
        self.relations: dict[tuple, ResolvedRelation] = {}
        self.entity_first: dict[str, tuple[str, int]] = {}
        self.relation_first: dict[tuple, tuple[str, int]] = {}
        self.blocks: dict[str, tuple[int, bytes]] = {}           # entity IRI -> its Turtle
        self.figures: dict[str, list[tuple]] = {}                # doc id -> its statistics rows
        self.doc_blocks: dict[str, tuple[object, int, bytes]] = {}   # doc id -> (digest, Turtle)

    def update(self, digests: list) -> tuple[Resolved, tuple[int, bytes]]:
        new = {d.doc.doc_id: d for d in digests}
        position = {doc_id: i for i, doc_id in enumerate(new)}
        kept = [i for i, d in self.docs.items() if new.get(i) is d]
        if kept != sorted(kept, key=position.__getitem__):
            # Documents kept their content but not their order (inputs given in another
            # order): which document names an entity first changed everywhere.
            self.__init__()
        gone = [i for i, d in self.docs.items() if new.get(i) is not d]
        came = [i for i, d in new.items() if self.docs.get(i) is not d]
        shrunk: set[str] = set()                  # entities a document no longer names
        grown: dict[str, list[str]] = {}          # entity -> the new documents that name it
        dirty_relations: set[tuple] = set()
        for doc_id in gone:
            self._forget(doc_id, self.docs.pop(doc_id), shrunk, dirty_relations)
        for doc_id in came:
            self._learn(doc_id, new[doc_id], grown, dirty_relations)
        self.docs = dict(new)             # in input order, for the next update's check
        in_order = position.__getitem__
        for key in dirty_relations:
            self._fold_relation(key, in_order)
        for iri in shrunk | grown.keys():
            if iri in shrunk or iri not in self.entities:
                self._fold_entity(iri, in_order)
            else:            # only more documents: add them to it (the agency named everywhere)
                self._grow_entity(iri, grown[iri], in_order)

        def first(where: tuple[str, int]) -> tuple[int, int]:
            return position[where[0]], where[1]

        entities = {iri: self.entities[iri]
                    for iri in sorted(self.entities, key=lambda i: first(self.entity_first[i]))}
        relations = {key: self.relations[key]
                     for key in sorted(self.relations, key=lambda k: first(self.relation_first[k]))}
        statistics = list(chain.from_iterable(self.figures[doc_id] for doc_id in new))
        resolved = Resolved(entities, relations, statistics, list(digests))

        parts = []
        count = 0
        for doc_id, d in new.items():
            made = self.doc_blocks.get(doc_id)
            if made is None or made[0] is not d:
                n, text = document_block(d.doc)
                made = self.doc_blocks[doc_id] = (d, n, text.encode("utf-8", "replace"))
            count += made[1]
            parts.append(made[2])
        for doc_id in [i for i in self.doc_blocks if i not in new]:
            del self.doc_blocks[doc_id]
        for iri in entities:
            n, text = self.blocks[iri]
            count += n
            parts.append(text)
        return resolved, (count, b"".join(parts))

    # ------------------------------------------------------------ who says what
    def _learn(self, doc_id, d, grown, dirty_relations) -> None:
        self.figures[doc_id] = [(doc_id, node, reporter) for node, reporter in d.statistics]
        for row, entity in enumerate(d.entities):
            self.naming.setdefault(entity[0], {})[doc_id] = row
            grown.setdefault(entity[0], []).append(doc_id)
        for row, (key, _) in enumerate(d.relations):
            self.stating.setdefault(key, {})[doc_id] = row
            self.keys_of.setdefault(key[1], set()).add(key)
            dirty_relations.add(key)
        for _, reporter in d.statistics:
            if reporter:
                self.reporting.setdefault(reporter, {})[doc_id] = None

    def _forget(self, doc_id, d, shrunk, dirty_relations) -> None:
        del self.figures[doc_id]
        for entity in d.entities:
            self.naming[entity[0]].pop(doc_id, None)
            shrunk.add(entity[0])
        for key, _ in d.relations:
            self.stating[key].pop(doc_id, None)
            dirty_relations.add(key)
        for _, reporter in d.statistics:
            if reporter:
                self.reporting[reporter].pop(doc_id, None)

    # ------------------------------------------------------------ folding again
    def _fold_relation(self, key: tuple, in_order) -> None:
        rows = self.stating.get(key)
        if not rows:                       # no document states it any more
            self.stating.pop(key, None)
            self.relations.pop(key, None)
            self.relation_first.pop(key, None)
            keys = self.keys_of.get(key[1])
            if keys is not None:
                keys.discard(key)
            return
        docs = sorted(rows, key=in_order)
        rel = ResolvedRelation(*key)
        for doc_id in docs:
            rel.evidence.extend(Evidence(*row) for row in self.docs[doc_id].relations[rows[doc_id]][1])
        self.relations[key] = rel
        self.relation_first[key] = (docs[0], rows[docs[0]])

    def _fold_entity(self, iri: str, in_order) -> None:
        """The entity as merge makes it, from the documents that name it, and its Turtle."""
        rows = self.naming.get(iri)
        if not rows:
            for table in (self.naming, self.entities, self.entity_first, self.blocks,
                          self.keys_of, self.reporting):
                table.pop(iri, None)
            return
        docs = sorted(rows, key=in_order)
        cls, label = self.docs[docs[0]].entities[rows[docs[0]]][1:3]
        e = self.entities[iri] = Entity(cls, label, iri)
        self._add(e, iri, docs)
        self.entity_first[iri] = (docs[0], rows[docs[0]])
        self._write_block(iri, e, in_order)

    def _grow_entity(self, iri: str, docs: list[str], in_order) -> None:
        """An entity that only gained documents: what they say is added to it (sets, a sum and
        a maximum: the order they come in does not matter, except for where it was first named)."""
        e = self.entities[iri]
        self._add(e, iri, docs)
        rows = self.naming[iri]
        self.entity_first[iri] = min([self.entity_first[iri], *((d, rows[d]) for d in docs)],
                                     key=lambda where: (in_order(where[0]), where[1]))
        self._write_block(iri, e, in_order)

    def _add(self, e: Entity, iri: str, docs: list[str]) -> None:
        """What `docs` say of the entity, folded in as kg.resolve.merge folds it (merge keeps
        the same lines inline: they run for 370,000 rows a build; test_incremental checks
        that the two agree)."""
        rows = self.naming[iri]
        for doc_id in docs:
            _, _, _, alt_labels, mentions, confidence, passes = \
                self.docs[doc_id].entities[rows[doc_id]]
            e.alt_labels.update(alt_labels)
            e.documents.add(doc_id)
            e.mentions += mentions
            e.confidence = max(e.confidence, confidence)
            e.passes.update(passes)
        e.alt_labels.discard(e.label)

    def _write_block(self, iri: str, e: Entity, in_order) -> None:
        # Its relations in the order merge first met them, then the figures it reports.
        key_first = self.relation_first
        keys = sorted(self.keys_of.get(iri, ()),
                      key=lambda k: (in_order(key_first[k][0]), key_first[k][1]))
        outgoing = [relation_pair(pred, o) for pred, _, o in keys]
        reports = self.reporting.get(iri, {})
        for doc_id in sorted(reports, key=in_order):
            pairs = reports[doc_id]
            if pairs is None:       # (the agency at the top reports 40,000 figures: made once)
                pairs = reports[doc_id] = [report_pair(node) for node, reporter
                                           in self.docs[doc_id].statistics if reporter == iri]
            outgoing += pairs
        n, text = entity_block(e, outgoing)
        self.blocks[iri] = (n, text.encode("utf-8", "replace"))
