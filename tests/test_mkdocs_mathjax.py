"""tools/mkdocs_mathjax.py: the docs build fails clearly without MathJax, and serves it locally."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
from mkdocs.exceptions import PluginError  # noqa: E402

HOOK = Path(__file__).resolve().parent.parent / "tools" / "mkdocs_mathjax.py"
spec = importlib.util.spec_from_file_location("mkdocs_mathjax", HOOK)
hook = importlib.util.module_from_spec(spec)
sys.modules["mkdocs_mathjax"] = hook
spec.loader.exec_module(hook)


def config(extensions=("toc", "pymdownx.arithmatex"), generic=True, scripts=None):
    scripts = [hook.CONFIG_SCRIPT, hook.ENTRY] if scripts is None else scripts
    mdx = {"pymdownx.arithmatex": {"generic": generic}} if generic is not None else {}
    return {
        "markdown_extensions": list(extensions),
        "mdx_configs": mdx,
        "extra_javascript": scripts,
    }


def test_missing_distribution_names_the_package_to_install():
    with pytest.raises(PluginError, match="no-such-mathjax-dist is not installed.*pip install"):
        hook.mathjax_root("no-such-mathjax-dist")


def test_arithmatex_missing_or_not_generic_fails_the_build():
    with pytest.raises(PluginError, match="raw LaTeX"):
        hook.on_config(config(extensions=("toc",), generic=None))
    with pytest.raises(PluginError, match="raw LaTeX"):
        hook.on_config(config(generic=False))


def test_scripts_missing_or_in_the_wrong_order_fail_the_build():
    with pytest.raises(PluginError, match="extra_javascript must list"):
        hook.on_config(config(scripts=[hook.ENTRY]))
    with pytest.raises(PluginError, match="before"):
        hook.on_config(config(scripts=[hook.ENTRY, hook.CONFIG_SCRIPT]))


def test_copy_serves_the_entry_script_fonts_and_licence(tmp_path):
    try:
        root = hook.mathjax_root()
    except PluginError:
        pytest.skip(f"{hook.DISTRIBUTION} is not installed")
    target = hook.copy_mathjax(tmp_path, root)
    assert target == tmp_path / hook.TARGET
    assert (tmp_path / hook.ENTRY).stat().st_size > 100_000
    assert "Apache License" in (target / "LICENSE").read_text()
    fonts = list((target / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) > 10
    assert (target / "input" / "tex" / "extensions" / "boldsymbol.js").exists()
