"""Browser smoke test of the built documentation site (issue 16).

Serves a built MkDocs site (``mkdocs build`` output) on 127.0.0.1 with a small HTTP server
that logs every request and its status, loads every page in one headless Chromium (several
tabs at a time, driven through the DevTools protocol over a pipe: no dependency beyond the
standard library), and fails on

- a console error or an uncaught exception on a page;
- a missing image or asset: any request answered with a status >= 400, an ``<img>``,
  ``<script>``, stylesheet or icon whose file is not in the site, an image the browser could
  not decode, or an asset loaded from another host (the site must work with no network, so
  Chromium resolves every host except 127.0.0.1 to "not found");
- a link to a page or file of the site that does not exist;
- unrendered math: raw TeX (``$$``, ``\\(``, ``\\[``, ``\\frac``, ``\\begin{``, ...) in the
  visible text of the DOM after the scripts ran. Code spans and code blocks, and the TeX
  source that KaTeX and MathJax keep for screen readers, are not visible text, so the check
  works with either renderer and never flags code.

Usage::

    python tools/docs_smoke.py SITE_DIR [--chromium /usr/bin/chromium] [--tabs 4]

Exit status 0 when every page passes, 1 otherwise (each problem is printed with its page).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import html.parser
import http.server
import json
import os
import posixpath
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Offline on purpose: a page that needs another host fails here as it would offline.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

# Raw TeX that a renderer would have replaced: display and inline delimiters, and commands
# that never occur in prose. One backslash command is enough to call a text span raw TeX.
RAW_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\end\{"
    r"|\\(?:frac|sum|prod|int|sqrt|mathbf|mathcal|mathrm|operatorname|left|right|cdot|cdots"
    r"|ldots|dots|times|otimes|odot|circ|alpha|beta|gamma|delta|epsilon|varepsilon|lambda"
    r"|sigma|theta|top|le|leq|ge|geq|ne|neq|in|approx|partial|nabla|Vert|lVert|rVert|langle"
    r"|rangle|hat|tilde|bar|ltimes|text)(?![A-Za-z])"
    r"|\$[^$\s][^$\n]*\\[A-Za-z]+[^$\n]*\$"
)

# Elements whose text is not prose: code, scripts, and the TeX/MathML source that KaTeX
# (.katex-mathml, <annotation>) and MathJax (<mjx-assistive-mml>, <script type="math/tex">)
# keep beside the rendered formula for screen readers.
_SKIP_TAGS = frozenset(
    {"code", "pre", "kbd", "samp", "script", "style", "noscript", "template", "textarea",
     "annotation", "annotation-xml", "math", "mjx-assistive-mml", "svg", "title"}
)  # fmt: skip
_SKIP_CLASSES = frozenset({"katex-mathml", "MJX_Assistive_MathML", "sr-only", "visually-hidden"})
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


class _Page(html.parser.HTMLParser):
    """Visible prose text, asset references and links of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.assets: list[tuple[str, str]] = []  # (tag, url)
        self.links: list[str] = []
        self._stack: list[bool] = []  # per open element: does it hide its text?
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._collect(tag, a)
        if tag in _VOID_TAGS:
            return
        classes = set((a.get("class") or "").split())
        hides = (
            tag in _SKIP_TAGS
            or bool(classes & _SKIP_CLASSES)
            or "hidden" in a
            or a.get("aria-hidden") == "true"
            or re.search(r"display\s*:\s*none", a.get("style") or "") is not None
        )
        self._stack.append(hides)
        self._hidden += hides

    def handle_startendtag(self, tag, attrs):
        self._collect(tag, dict(attrs))

    def handle_endtag(self, tag):
        if tag in _VOID_TAGS or not self._stack:
            return
        self._hidden -= self._stack.pop()

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)

    def _collect(self, tag: str, a: dict) -> None:
        if tag == "img" and a.get("src"):
            self.assets.append(("img", a["src"]))
        elif tag == "script" and a.get("src"):
            self.assets.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rel = set((a.get("rel") or "").lower().split())
            if rel & {"stylesheet", "icon", "shortcut", "preload", "modulepreload"}:
                self.assets.append(("link", a["href"]))
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])


def parse_page(document: str) -> _Page:
    """Parse ``document`` into its visible text, assets and links."""
    page = _Page()
    page.feed(document)
    page.close()
    return page


def visible_text(document: str) -> str:
    """The prose text of ``document``: no code, scripts, or renderers' hidden TeX source."""
    return "".join(parse_page(document).text)


def raw_tex(document: str | _Page) -> list[str]:
    """Fragments of raw TeX left in the visible text of ``document`` (at most five)."""
    page = parse_page(document) if isinstance(document, str) else document
    text = "".join(page.text)
    found = []
    for m in RAW_TEX.finditer(text):
        found.append(text[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ").strip())
        if len(found) == 5:
            break
    return found


def _is_external(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme not in ("", "http", "https", "file") or (
        parts.netloc not in ("", "127.0.0.1") and not parts.netloc.startswith("127.0.0.1:")
    )


def site_path(site: Path, page_path: str, url: str) -> Path | None:
    """The file of ``site`` that ``url`` on the page at ``page_path`` refers to (None: external).

    ``page_path`` is the URL path of the page (``/guide/tt/``); directories mean their
    ``index.html``, as the server and MkDocs's directory URLs do.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "javascript", "mailto"):
        return None
    if _is_external(url):
        return None
    path = urllib.parse.unquote(parts.path)
    if not path:
        path = page_path
    elif not path.startswith("/"):
        path = posixpath.join(posixpath.dirname(page_path), path)
    is_dir = path.endswith("/")
    target = site / posixpath.normpath(path).lstrip("/")
    return target / "index.html" if is_dir or target.is_dir() else target


def asset_problems(site: Path, page_path: str, document: str | _Page) -> list[str]:
    """Missing or off-site assets and broken links of one page (static checks on the DOM)."""
    page = parse_page(document) if isinstance(document, str) else document
    problems = []
    for tag, url in page.assets:
        if urllib.parse.urlsplit(url).scheme == "data":
            continue
        if _is_external(url):
            problems.append(f"<{tag}> loads {url} from another host (the site must work offline)")
            continue
        target = site_path(site, page_path, url)
        if target is not None and not target.is_file():
            problems.append(f"<{tag}> {url}: no file {target.relative_to(site)} in the site")
    for url in page.links:
        target = site_path(site, page_path, url)
        if target is not None and not target.exists():
            problems.append(f"link {url}: no file {target.relative_to(site)} in the site")
    return problems


def server_problems(log: list[tuple[str, int]]) -> list[str]:
    """Requests of the server log answered with an error status."""
    return [
        f"HTTP {status} for {path}"
        for path, status in log
        if status >= 400 and not _browser_favicon(path)
    ]


def _browser_favicon(url: str) -> bool:
    """Whether ``url`` is ``/favicon.ico``, which Chromium requests by itself for a page that
    declares no icon: its 404 is not a missing asset of the site (a declared icon is checked
    with the page's other assets)."""
    return urllib.parse.urlsplit(url).path == "/favicon.ico"


def console_problem(message: dict) -> str | None:
    """The problem a DevTools event reports, if it is a console error or an exception."""
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        exc = details.get("exception", {})
        return f"uncaught exception: {exc.get('description') or details.get('text')}"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
        return f"console.{params['type']}: {args}"
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        if _browser_favicon(entry.get("url", "")):
            return None
        return f"console error: {entry.get('text')} {entry.get('url', '')}".rstrip()
    return None


# --------------------------------------------------------------------------- server


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        status = code.value if hasattr(code, "value") else int(code) if code != "-" else 0
        self.log.append((urllib.parse.unquote(self.path), status))

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(site: Path):
    """Serve ``site`` on 127.0.0.1 (a free port); yields ``(base_url, log)``."""
    log: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"log": log})
    handler = functools.partial(handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- browser


class Browser:
    """Headless Chromium driven through the DevTools protocol on fds 3/4 (NUL-framed JSON)."""

    def __init__(self, chromium: str, profile: str):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():  # in the child: our pipe ends become its fds 3 (commands) and 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child_r, from_child_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),  # kept open after wire_fds ran
            preexec_fn=wire_fds,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._next_id = 0
        self._results: dict[int, dict] = {}
        self._events: dict[str, list[dict]] = {}
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._results[msg["id"]] = msg
                    elif "sessionId" in msg:
                        self._events.setdefault(msg["sessionId"], []).append(msg)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:  # fmt: skip
        """Send one command and wait for its result."""
        with self._lock:
            self._next_id += 1
            cid = self._next_id
            msg = {"id": cid, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while cid not in self._results:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise RuntimeError(f"Chromium did not answer {method}")
                self._cond.wait(left)
            result = self._results.pop(cid)
        if "error" in result:
            raise RuntimeError(f"{method}: {result['error']}")
        return result.get("result", {})

    def wait_event(self, session: str, method: str, timeout: float, after: int = 0) -> bool:
        """Wait until ``session`` has received a ``method`` event (among events ``after:``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(m["method"] == method for m in self._events.get(session, [])[after:]):
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def events(self, session: str) -> list[dict]:
        with self._cond:
            return list(self._events.get(session, []))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)


# After the load event: let a math renderer finish (MathJax typesets asynchronously), then
# return the DOM and the images the browser could not decode.
_SNAPSHOT = """(async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const broken = Array.from(document.images)
    .filter(im => im.complete && im.naturalWidth === 0 && im.getAttribute('src'))
    .map(im => im.getAttribute('src'));
  return JSON.stringify({dom: document.documentElement.outerHTML, broken: broken});
})()"""


def open_tab(browser: Browser) -> tuple[str, str]:
    """A new tab with the Runtime, Log and Page events on; returns ``(target, session)``."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    attached = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})
    for domain in ("Runtime", "Log", "Page"):
        browser.call(f"{domain}.enable", session=attached["sessionId"])
    return target, attached["sessionId"]


def check_page(browser: Browser, session: str, site: Path, base: str, page_path: str,
               timeout: float = 20.0, settle: float = 3.0) -> list[str]:  # fmt: skip
    """Load one page in the tab of ``session``; its problems (console, assets, links, math)."""
    first = len(browser.events(session))
    browser.call("Page.navigate", {"url": base + page_path}, session=session)
    if not browser.wait_event(session, "Page.loadEventFired", timeout, after=first):
        return [f"the page did not finish loading in {timeout:g} s"]
    deadline = time.monotonic() + settle
    while True:  # a renderer may still be typesetting: poll until the math is gone
        snap = browser.call(
            "Runtime.evaluate",
            {"expression": _SNAPSHOT, "awaitPromise": True, "returnByValue": True},
            session=session,
            timeout=timeout,
        )
        snap = json.loads(snap["result"]["value"])
        dom = parse_page(snap["dom"])
        tex = raw_tex(dom)
        if not tex or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    problems = [f"image not decoded by the browser: {src}" for src in snap["broken"]]
    problems += [f"unrendered math: ...{t}..." for t in tex]
    problems += asset_problems(site, page_path, dom)
    events = browser.events(session)[first:]
    problems += [p for m in events if (p := console_problem(m))]
    return list(dict.fromkeys(problems))


def page_paths(site: Path) -> list[str]:
    """URL paths of every HTML page of ``site`` (directory URLs end in '/'; no 404 page)."""
    paths = []
    for f in sorted(site.rglob("*.html")):
        rel = f.relative_to(site).as_posix()
        if rel == "404.html":
            continue
        paths.append("/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel))
    return sorted(paths)


def check_pages(browser: Browser, site: Path, base: str, pages: list[str], tabs: int,
                timeout: float, settle: float) -> dict[str, list]:  # fmt: skip
    """Check ``pages`` in ``tabs`` tabs, each loading page after page; ``{page: problems}``."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for page in pages:
        todo.put(page)
    results: dict[str, list] = {}

    def worker() -> None:
        _, session = open_tab(browser)
        while True:
            try:
                page = todo.get_nowait()
            except queue.Empty:
                return
            results[page] = check_page(browser, session, site, base, page, timeout, settle)

    with ThreadPoolExecutor(tabs) as pool:
        for future in [pool.submit(worker) for _ in range(tabs)]:
            future.result()
    return {page: results[page] for page in pages}


def run(
    site: Path, chromium: str, tabs: int = 4, timeout: float = 20.0, settle: float = 3.0
) -> dict[str, list]:
    """Check every page of ``site``; returns ``{page: problems}`` (server errors under '*').

    ``settle`` is how long a page with raw TeX is polled for a renderer to finish.
    """
    pages = page_paths(site)
    if not pages:
        raise SystemExit(f"no HTML page under {site}: build the site first (mkdocs build)")
    profile = tempfile.mkdtemp(prefix="docs-smoke-profile-")
    try:
        with serve(site) as (base, log):
            browser = Browser(chromium, profile)
            try:
                results = check_pages(browser, site, base, pages, tabs, timeout, settle)
            finally:
                browser.close()
            results["*"] = server_problems(log)
            results["*requests"] = list(log)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (mkdocs build --site-dir)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--tabs", type=int, default=4, help="pages loaded at the same time")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per page load")
    parser.add_argument("--log", type=Path, help="write the server's request log here")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        parser.error(f"--chromium={args.chromium} does not exist (apt-get install chromium)")
    start = time.monotonic()
    results = run(args.site.resolve(), args.chromium, args.tabs, args.timeout)
    requests = results.pop("*requests")
    if args.log:
        args.log.write_text("".join(f"{s} {p}\n" for p, s in requests), encoding="utf-8")
    failed = {page: probs for page, probs in results.items() if probs}
    for page, problems in failed.items():
        print(f"FAIL {page if page != '*' else 'server log'}")
        for problem in problems:
            print(f"  - {problem}")
    n_pages = len(results) - 1
    print(
        f"docs smoke test: {n_pages} pages, {len(requests)} requests, "
        f"{len(failed)} with problems, {time.monotonic() - start:.1f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
