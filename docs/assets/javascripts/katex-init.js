// Render maths with the site's own KaTeX; nothing is loaded from another host.
// Markdown pages: pymdownx.arithmatex (generic mode) wraps maths in .arithmatex elements.
// Notebook pages: cells keep $...$ and $$...$$, rendered with KaTeX's auto-render.
function renderArithmatex(root) {
  root.querySelectorAll(".arithmatex").forEach((element) => {
    const source = element.textContent.trim();
    const display = source.startsWith("\\[");
    const tex = source.slice(2, -2);
    try {
      katex.render(tex, element, { displayMode: display, throwOnError: false });
    } catch (error) {
      console.warn("KaTeX could not render", tex, error);
    }
  });
}

function renderNotebookMath(root) {
  if (typeof renderMathInElement !== "function") return;
  root.querySelectorAll(".jp-MarkdownOutput, .jp-RenderedMarkdown").forEach((element) => {
    renderMathInElement(element, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: false,
    });
  });
}

function renderMath(root) {
  renderArithmatex(root);
  renderNotebookMath(root);
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderMath(body));
} else {
  document.addEventListener("DOMContentLoaded", () => renderMath(document.body));
}
