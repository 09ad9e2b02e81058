// MathJax 3 settings for the docs: typeset only the math that pymdownx.arithmatex (generic mode)
// marked, \( \) inline and \[ \] display; MathJax itself is served from js/mathjax/ of this site
// (copied there by tools/mkdocs_mathjax.py), its fonts from js/mathjax/output/chtml/fonts/.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
