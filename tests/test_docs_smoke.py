"""The checks of tools/docs_smoke.py on small HTML strings (no browser needed)."""

import sys
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import docs_smoke  # noqa: E402


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


# ------------------------------------------------------------------ unrendered math


@pytest.mark.parametrize(
    "body",
    [
        "<p>the error is $$\\sum_i s_i^2$$</p>",
        "<p>inline \\(x_i\\) left raw</p>",
        "<p>display \\[ A = B \\]</p>",
        "<p>ratio \\frac{a}{b} here</p>",
        "<p>$\\alpha + \\beta$</p>",
        "<p>$x \\weirdcommand y$</p>",
        "<div><p>\\begin{aligned} a &amp;= b \\end{aligned}</p></div>",
        '<span class="katex-error" title="ParseError">\\frac{a}{</span>',
    ],
)
def test_raw_tex_in_prose_is_flagged(body):
    assert docs_smoke.raw_tex(_page(body))


@pytest.mark.parametrize(
    "body",
    [
        "<p>a code span <code>X[i_1, ..., i_d] = \\frac{a}{b} $$</code> is code</p>",
        "<pre><code>\\mathcal{X} = \\sum_r a_r \\circ b_r\n$$ x $$</code></pre>",
        "<p>costs $5 and $10</p>",
        "<p>plain prose with a backslash-free formula X = U diag(s) V^T</p>",
        # KaTeX keeps the TeX source in hidden MathML next to the rendered HTML.
        '<p><span class="katex"><span class="katex-mathml"><math><semantics><mi>x</mi>'
        '<annotation encoding="application/x-tex">\\frac{a}{b}</annotation></semantics></math>'
        '</span><span class="katex-html" aria-hidden="true">a/b</span></span></p>',
        # MathJax 3 keeps MathML for assistive technology; MathJax 2 kept TeX in a script.
        "<p><mjx-container><mjx-assistive-mml><math><mi>x</mi></math></mjx-assistive-mml>"
        '</mjx-container><script type="math/tex">\\sum_i x_i</script></p>',
        '<p style="display: none">\\frac{a}{b}</p><p hidden>$$x$$</p>',
    ],
)
def test_code_and_rendered_math_are_not_flagged(body):
    assert docs_smoke.raw_tex(_page(body)) == []


def test_visible_text_drops_code_scripts_and_styles_but_keeps_prose_around_them():
    doc = _page(
        "<p>before <code>x</code> after</p><script>var a = '$$';</script><style>p{}</style>"
    )
    assert docs_smoke.visible_text(doc) == "before  after"


def test_raw_tex_resumes_after_a_void_element_inside_code():
    doc = _page("<pre><code>a<br>b</code></pre><p>\\frac{1}{2}</p>")
    assert docs_smoke.raw_tex(doc)


# ------------------------------------------------------------------ assets and links


@pytest.fixture
def site(tmp_path):
    (tmp_path / "guide" / "tt").mkdir(parents=True)
    (tmp_path / "guide" / "tt" / "index.html").write_text("tt")
    (tmp_path / "guide" / "img").mkdir()
    (tmp_path / "guide" / "img" / "tt.svg").write_text("<svg/>")
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "base.css").write_text("")
    (tmp_path / "index.html").write_text("home")
    return tmp_path


def test_existing_relative_and_absolute_assets_and_links_pass(site):
    doc = _page(
        '<img src="../img/tt.svg"><a href="../tt/#tt-svd">same page</a><a href="../../">home</a>'
        '<a href="#top">anchor</a><a href="https://example.org/paper">paper</a>'
        '<img src="data:image/png;base64,AAAA"><a href="mailto:a@b.c">mail</a>',
        head='<link rel="stylesheet" href="/css/base.css">',
    )
    assert docs_smoke.asset_problems(site, "/guide/tt/", doc) == []


def test_a_missing_image_stylesheet_script_or_page_is_reported(site):
    doc = _page(
        '<img src="../img/cp.svg"><script src="../../js/missing.js"></script>'
        '<a href="../cp/">cp</a>',
        head='<link rel="stylesheet" href="../../css/nothere.css">',
    )
    problems = docs_smoke.asset_problems(site, "/guide/tt/", doc)
    assert len(problems) == 4
    for name in ("guide/img/cp.svg", "js/missing.js", "css/nothere.css", "guide/cp/index.html"):
        assert any(name in p for p in problems), (name, problems)


def test_an_asset_from_another_host_is_reported_as_not_offline(site):
    doc = _page(
        "", head='<script src="https://cdnjs.cloudflare.com/ajax/libs/highlight.min.js"></script>'
    )
    (problem,) = docs_smoke.asset_problems(site, "/", doc)
    assert "another host" in problem and "cdnjs" in problem


def test_site_path_resolves_directory_urls_and_queries(site):
    assert docs_smoke.site_path(site, "/guide/tt/", "../../") == site / "index.html"
    assert docs_smoke.site_path(site, "/guide/tt/", "") == site / "guide/tt/index.html"
    assert docs_smoke.site_path(site, "/", "css/base.css?v=2") == site / "css/base.css"
    assert docs_smoke.site_path(site, "/", "https://example.org/x.png") is None


def test_page_paths_lists_directory_urls_without_the_404_page(site):
    (site / "404.html").write_text("")
    assert docs_smoke.page_paths(site) == ["/", "/guide/tt/"]


# ------------------------------------------------------------------ console and server log


def test_console_errors_and_exceptions_are_problems_and_warnings_are_not():
    error = {"method": "Runtime.consoleAPICalled", "params": {"type": "error", "args": [
        {"type": "string", "value": "boom"}]}}  # fmt: skip
    warning = {"method": "Runtime.consoleAPICalled", "params": {"type": "warning", "args": []}}
    thrown = {
        "method": "Runtime.exceptionThrown",
        "params": {"exceptionDetails": {"exception": {"description": "ReferenceError: hljs"}}},
    }
    failed = {
        "method": "Log.entryAdded",
        "params": {"entry": {"level": "error", "text": "Failed to load resource", "url": "/x"}},
    }
    verbose = {"method": "Log.entryAdded", "params": {"entry": {"level": "verbose", "text": "."}}}
    assert docs_smoke.console_problem(error) == "console.error: boom"
    assert "ReferenceError: hljs" in docs_smoke.console_problem(thrown)
    assert "Failed to load resource /x" in docs_smoke.console_problem(failed)
    assert docs_smoke.console_problem(warning) is None
    assert docs_smoke.console_problem(verbose) is None


def test_the_browsers_own_favicon_request_is_not_a_problem_but_other_404s_are():
    """Chromium asks for /favicon.ico by itself when a page declares no icon."""
    entry = {"level": "error", "text": "Failed to load resource", "url": ""}
    for url, problem in [
        ("http://127.0.0.1:8000/favicon.ico", False),
        ("http://127.0.0.1:8000/img/favicon.ico", True),
        ("http://127.0.0.1:8000/x.png", True),
    ]:
        message = {"method": "Log.entryAdded", "params": {"entry": {**entry, "url": url}}}
        assert (docs_smoke.console_problem(message) is not None) == problem
    log = [("/favicon.ico", 404), ("/x.png", 404), ("/", 200)]
    assert docs_smoke.server_problems(log) == ["HTTP 404 for /x.png"]


def test_server_logs_every_request_and_its_status(site):
    with docs_smoke.serve(site) as (base, log):
        with urllib.request.urlopen(base + "/guide/tt/") as response:
            assert response.read() == b"tt"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/guide/img/missing.png")
    assert log == [("/guide/tt/", 200), ("/guide/img/missing.png", 404)]
    assert docs_smoke.server_problems(log) == ["HTTP 404 for /guide/img/missing.png"]


# ------------------------------------------------------------------ end to end (needs Chromium)


@pytest.mark.skipif(
    not Path(docs_smoke.shutil.which("chromium") or "/usr/bin/chromium").exists(),
    reason="Chromium is not installed (.ci/run installs it)",
)
def test_run_reports_each_kind_of_problem_on_a_broken_site_and_nothing_on_a_clean_page(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "index.html").write_text(_page("<p>fine <code>$$x$$</code></p>"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.html").write_text(
        _page(
            '<p>$$\\frac{a}{b}$$</p><img src="missing.png"><script>console.error("boom");'
            "undefined_name();</script>"
        )
    )
    chromium = docs_smoke.shutil.which("chromium") or "/usr/bin/chromium"
    results = docs_smoke.run(tmp_path, chromium, tabs=2, timeout=30, settle=0.2)
    assert results["/ok/"] == []
    bad = " | ".join(results["/bad/"])
    for expected in ("unrendered math", "missing.png", "console.error: boom", "undefined_name"):
        assert expected in bad, (expected, bad)
    assert "HTTP 404 for /bad/missing.png" in results["*"]
