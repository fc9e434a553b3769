"""The graph page in a real browser: Debian's Chromium driven by Playwright.

What a person does on the page: it draws, search finds a node by its Traditional name, a
class filter hides that class, a click opens the panel with the evidence sentences. On
every page: no console error, no request leaving the page's own file, no script run from
document text. Screenshots go to $KG_TEST_ARTIFACTS (or a temporary folder, printed).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (CI installs Debian's chromium in .ci/run)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

from rdflib import Graph  # noqa: E402

from kg import render  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
XSS = "window.__xss"  # every payload below sets it if it ever runs


def _bench():
    spec = importlib.util.spec_from_file_location("render_bench", ROOT / "bench" / "render_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    path = Path(os.environ.get("KG_TEST_ARTIFACTS") or tmp_path_factory.mktemp("screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots and timings: {path}")
    return path


class Tab:
    """One page, with what it logged and every request it made besides its own file."""

    def __init__(self, browser, path: Path):
        self.path = path
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport=VIEWPORT)
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        own = path.resolve().as_uri()
        # Every request but the page's own file is recorded; any that is not file: is blocked.
        self.page.on("request", lambda r: r.url != own and self.requests.append(r.url))
        self.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                        else route.abort())
        start = time.perf_counter()
        self.page.goto(own)
        self.page.wait_for_function("window.__graphReady", timeout=60_000)
        self.wall = time.perf_counter() - start
        self.ready = self.page.evaluate("window.__graphReady")

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def drawn(self) -> list[dict]:
        """The nodes in vis's DataSet, that is the ones drawn, with their class."""
        return self.js("kg.nodes.get().map(n => ({id: n.id, label: n.label, cls: n.group}))")

    def node_id(self, label: str) -> int:
        return self.js("l => kg.data.nodes.find(n => n.label === l).id", label)

    def click_node(self, node_id: int) -> None:
        """A real mouse click where the node is drawn."""
        self.js("id => kg.network.focus(id, {scale: 1.2})", node_id)
        box = self.page.locator("#graph").bounding_box()
        at = self.js("id => kg.network.canvasToDOM(kg.network.getPositions([id])[id])", node_id)
        self.page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])

    def search(self, text: str) -> None:
        self.page.fill("#q", text)
        self.page.press("#q", "Enter")

    def close(self) -> None:
        """The checks every page must pass, then close it."""
        try:
            assert self.errors == [], self.errors
            assert self.requests == [], f"requests left the page: {self.requests}"
            assert self.js(XSS) is None
        finally:
            self.page.close()


@pytest.fixture(scope="module")
def seeds_page_path(seeds_output) -> Path:
    return seeds_output / "graph.html"


@pytest.fixture
def seeds(browser, seeds_page_path):
    tab = Tab(browser, seeds_page_path)
    yield tab
    tab.close()


def test_seeds_page_draws_its_graph(seeds, seeds_graph, artifacts):
    G = render.graph_to_networkx(seeds_graph)
    drawn = seeds.drawn()
    assert len(drawn) == G.number_of_nodes() > 50          # small graph: everything is drawn
    assert seeds.js("kg.edges.length") == G.number_of_edges()
    assert seeds.ready["nodes"] == len(drawn)
    assert seeds.js("kg.network.getScale()") > 0.15         # the fit is not a speck
    seeds.page.screenshot(path=str(artifacts / "seeds.png"))
    (artifacts / "seeds-timing.json").write_text(json.dumps(
        {"ready_ms": seeds.ready["ms"], "wall_s": round(seeds.wall, 2), "nodes": len(drawn)}))
    print(f"seeds page: {len(drawn)} nodes drawn {seeds.ready['ms']} ms after navigation")
    assert seeds.ready["ms"] < 10_000                       # target 2 s; generous against flakes


def test_the_request_guard_sees_requests(seeds):
    # The check every test ends with is only worth something if a request would be seen.
    seeds.js("new Image().src = 'http://127.0.0.1:9/probe.png'")
    seeds.page.wait_for_timeout(200)
    assert seeds.requests == ["http://127.0.0.1:9/probe.png"]
    assert any("ERR_FAILED" in e for e in seeds.errors)      # blocked, and the console says so
    seeds.requests.clear()
    seeds.errors.clear()


def test_search_by_traditional_name_selects_the_node(seeds, artifacts):
    nia = seeds.node_id("国家移民管理局")
    seeds.search("國家移民管理局")
    seeds.page.wait_for_selector("#panel:not([hidden]) h2")
    assert seeds.js("kg.network.getSelectedNodes()") == [nia]
    assert seeds.page.text_content("#panel h2") == "国家移民管理局"
    # Suggestions while typing, in either script
    seeds.page.fill("#q", "移民管理")
    assert "国家移民管理局" in seeds.page.text_content("#hits")
    # quote and title marks are ignored (patterns.yaml name_marks, passed to the page)
    seeds.page.fill("#q", "「移民 管理」")
    assert "国家移民管理局" in seeds.page.text_content("#hits")
    seeds.page.fill("#q", "找不到的名字")
    seeds.page.press("#q", "Enter")
    assert "未找到" in seeds.page.text_content("#status")
    seeds.page.wait_for_timeout(600)  # the focus animation
    seeds.page.screenshot(path=str(artifacts / "seeds-search.png"))


def test_class_filter_hides_a_class(seeds):
    before = seeds.drawn()
    n_stats = sum(1 for n in before if n["cls"] == "Statistic")
    assert n_stats > 0
    seeds.page.uncheck('#side input[data-cls="Statistic"]')
    after = seeds.drawn()
    assert not any(n["cls"] == "Statistic" for n in after)
    assert len(after) == len(before) - n_stats
    assert "显示 %d / %d" % (len(after), len(before)) in seeds.page.text_content("#count")
    seeds.page.check('#side input[data-cls="Statistic"]')
    assert len(seeds.drawn()) == len(before)


def test_relation_filter_and_english_names(seeds):
    total = seeds.js("kg.edges.length")
    reports = seeds.js("kg.data.edges.filter(e => e.rel === 'reports').length")
    seeds.page.uncheck('#side input[data-rel="reports"]')
    assert seeds.js("kg.edges.length") == total - reports
    labels = set(seeds.js("kg.edges.get().map(e => e.label)"))
    assert "发布" in labels and "issues" not in labels
    seeds.page.check("#english")
    labels = set(seeds.js("kg.edges.get().map(e => e.label)"))
    assert "issues" in labels and "发布" not in labels


def test_click_opens_panel_with_evidence(seeds, seeds_graph, artifacts):
    G = render.graph_to_networkx(seeds_graph)
    nia = next(n for n, a in G.nodes(data=True) if a["label"] == "国家移民管理局")
    sentences = {e["text"] for _, _, a in G.out_edges(nia, data=True) for e in a["evidence"]}
    docs = {e["document"] for _, _, a in G.out_edges(nia, data=True) for e in a["evidence"]}
    assert sentences
    seeds.click_node(seeds.node_id("国家移民管理局"))
    seeds.page.wait_for_selector("#panel:not([hidden]) blockquote")
    assert seeds.page.text_content("#panel h2") == "国家移民管理局"
    panel = seeds.page.text_content("#panel")
    assert "机构" in panel and "来源文件" in panel
    quotes = seeds.page.locator("#panel blockquote").all_text_contents()
    assert any(s in q for q in quotes for s in sentences)     # the sentence itself
    assert any(d in q for q in quotes for d in docs)           # and its document
    seeds.page.screenshot(path=str(artifacts / "seeds-panel.png"))
    # Only the neighbourhood: the node and the nodes one relation away
    seeds.page.click("text=只看邻域")
    hood = {nia} | set(G.successors(nia)) | set(G.predecessors(nia))
    assert len(seeds.drawn()) == len(hood)
    seeds.page.wait_for_timeout(500)
    seeds.page.screenshot(path=str(artifacts / "seeds-neighbourhood.png"))
    seeds.page.click("#reset")
    assert len(seeds.drawn()) == G.number_of_nodes()


def _evil_graph() -> Graph:
    """The hand-built graph of test_render, with payloads that set window.__xss if run."""
    from rdflib import Literal
    from rdflib.namespace import DCTERMS, SKOS
    from test_render import KGO, KGR, build_graph
    g = build_graph()
    g.add((KGR.d3, DCTERMS.title, Literal(f'</script><script>{XSS}=1</script>')))
    g.add((KGR.evil, SKOS.altLabel, Literal(f'<img src=x onerror="{XSS}=2">', lang="zh")))
    g.set((KGR.s1, KGO.text, Literal(f'口岸签证措施<img src=x onerror="{XSS}=3"><script>{XSS}=4</script>')))
    return g


def test_malicious_text_runs_nothing(browser, tmp_path, artifacts):
    from test_render import EVIL_LABEL
    out = tmp_path / "evil.html"
    render.render_html(_evil_graph(), out, title=f'<img src=x onerror="{XSS}=5">')
    tab = Tab(browser, out)
    try:
        evil = tab.node_id(EVIL_LABEL)
        tab.click_node(evil)
        tab.page.wait_for_selector("#panel:not([hidden]) h2")
        assert tab.page.text_content("#panel h2") == EVIL_LABEL          # shown as text
        tab.page.hover("#panel h2")
        tab.search("onerror")                                             # suggestions list it
        tab.page.fill("#q", "img")
        assert EVIL_LABEL in tab.page.text_content("#hits")
        tab.click_node(tab.node_id("国家移民管理局"))                       # panel with the sentences
        tab.page.wait_for_selector("#panel blockquote")
        assert "<script>" in tab.page.text_content("#panel")
        assert tab.page.locator("#panel img, #panel script, #hits img").count() == 0
        tab.page.screenshot(path=str(artifacts / "evil.png"))
    finally:
        tab.close()                                                       # asserts __xss unset


@pytest.fixture(scope="module")
def large_page(tmp_path_factory) -> Path:
    G = _bench().synthetic_graph(10_000)
    out = tmp_path_factory.mktemp("large") / "large.html"
    render.render_networkx(G, out, "10,000 nodes")
    return out


def test_large_graph_opens_reduced_and_fast(browser, large_page, artifacts):
    tab = Tab(browser, large_page)
    try:
        data = tab.js("({n: kg.data.nodes.length, core: kg.data.nodes.filter(n => n.core).length,"
                      " limit: kg.data.view.limit})")
        assert data["n"] == 10_000 and data["core"] == data["limit"]
        assert len(tab.drawn()) == data["core"]                           # the reduced view
        note = tab.page.text_content("#reduced")
        assert tab.page.is_visible("#reduced") and re.search(r"已隐藏 \d+ 个实体", note)
        assert "显示全部" in note
        tab.page.screenshot(path=str(artifacts / "large.png"))
        timing = {"nodes": data["n"], "drawn": len(tab.drawn()), "ready_ms": tab.ready["ms"],
                  "wall_s": round(tab.wall, 2)}
        # A node outside the reduced view: search draws it with its neighbours and selects it.
        hidden = tab.js("kg.data.nodes.find(n => !n.core && n.cls === 'Location' && n.label).label")
        tab.search(hidden)
        tab.page.wait_for_selector("#panel:not([hidden]) h2")
        assert tab.page.text_content("#panel h2") == hidden
        assert tab.js("kg.network.getSelectedNodes().length") == 1
        # Show all: every node drawn, from positions computed in Python.
        start = time.perf_counter()
        tab.page.click("#show-all")
        tab.page.wait_for_function("kg.nodes.length === 10000", timeout=60_000)
        tab.js("new Promise(done => { kg.network.once('afterDrawing', done); kg.network.redraw(); })")
        timing["show_all_s"] = round(time.perf_counter() - start, 2)
        (artifacts / "large-timing.json").write_text(json.dumps(timing))
        print(f"10,000-node page: {timing}")
        assert timing["ready_ms"] < 20_000  # target 5 s (see bench/); generous against flakes
    finally:
        tab.close()
