"""MkDocs hook: typeset the LaTeX of the docs with MathJax served by the built site itself.

The Markdown holds LaTeX (``$...$`` inline, ``$$...$$`` display); ``pymdownx.arithmatex`` in
generic mode wraps it in ``<span class="arithmatex">\\(...\\)</span>`` (``\\[...\\]`` for
display) and MathJax typesets it in the browser. No CDN: the MathJax 3 distribution comes from
the PyPI package ``django-static-mathjax`` (a dev dependency; a plain copy of MathJax with its
Apache-2.0 licence and no Python dependency), and this hook copies the part of it the pages
load (``tex-chtml.js``, its TeX extensions, its woff fonts, its menu and accessibility
components, the licence) into ``js/mathjax/`` of the built site, so the site works offline.

The build fails with a message saying what to do when the package is missing, when
``pymdownx.arithmatex`` is not configured in generic mode, or when ``extra_javascript`` does not
load the configuration and then ``js/mathjax/tex-chtml.js``. Wire it in ``mkdocs.yml``::

    hooks:
      - tools/mkdocs_mathjax.py
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from mkdocs.exceptions import PluginError

DISTRIBUTION = "django-static-mathjax"
VERSION = "3.2.2.1"
SOURCE = "mathjax/static/mathjax"  # inside the distribution
TARGET = "js/mathjax"  # inside the built site
CONFIG_SCRIPT = "js/mathjax-config.js"  # in docs/, sets window.MathJax before MathJax loads
ENTRY = f"{TARGET}/tex-chtml.js"
# what tex-chtml.js loads: TeX extensions on demand, CHTML woff fonts, and (from the menu) the
# accessibility components with the speech rule engine
COPIED = (
    "es5/tex-chtml.js",
    "es5/input/tex/extensions",
    "es5/output/chtml",
    "es5/ui",
    "es5/a11y",
    "es5/sre",
)
INSTALL_HINT = f'install the docs dependencies: pip install -e ".[dev]" ({DISTRIBUTION}=={VERSION})'


def mathjax_root(distribution: str = DISTRIBUTION) -> Path:
    """Directory of the MathJax distribution shipped by ``distribution``; fails clearly."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise PluginError(
            f"MathJax assets missing: the package {distribution} is not installed; {INSTALL_HINT}"
        ) from None
    root = Path(dist.locate_file(SOURCE))
    missing = [part for part in COPIED if not (root / part).exists()]
    if missing:
        raise PluginError(
            f"MathJax assets missing: {distribution} {dist.version} at {root} lacks "
            f"{', '.join(missing)}; {INSTALL_HINT}"
        )
    return root


def _check_arithmatex(config) -> None:
    extensions = [e for e in config["markdown_extensions"] if isinstance(e, str)]
    options = config["mdx_configs"].get("pymdownx.arithmatex", {})
    if "pymdownx.arithmatex" not in extensions or not options.get("generic"):
        raise PluginError(
            "math would show as raw LaTeX: add `- pymdownx.arithmatex: {generic: true}` to "
            "markdown_extensions in mkdocs.yml"
        )


def _check_scripts(config) -> None:
    scripts = [str(s) for s in config["extra_javascript"]]
    if CONFIG_SCRIPT not in scripts or ENTRY not in scripts:
        raise PluginError(
            f"math would not be typeset: extra_javascript must list {CONFIG_SCRIPT} and then "
            f"{ENTRY} (found {scripts})"
        )
    if scripts.index(CONFIG_SCRIPT) > scripts.index(ENTRY):
        raise PluginError(f"extra_javascript must list {CONFIG_SCRIPT} before {ENTRY}")


def on_config(config):
    """Fail the build before any page is rendered when the math cannot be typeset."""
    _check_arithmatex(config)
    _check_scripts(config)
    mathjax_root()
    return config


def copy_mathjax(site_dir: str | Path, root: Path | None = None) -> Path:
    """Copy the MathJax files the pages load, and its licence, into ``site_dir/js/mathjax``."""
    root = mathjax_root() if root is None else root
    target = Path(site_dir) / TARGET
    for part in COPIED:
        source = root / part
        destination = target / Path(part).relative_to("es5")
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    shutil.copy2(root / "LICENSE", target / "LICENSE")
    return target


def on_post_build(config):
    """Serve MathJax from the built site itself."""
    copy_mathjax(config["site_dir"])
