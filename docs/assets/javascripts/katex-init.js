// Render the maths that pymdownx.arithmatex (generic mode) leaves in the page.
// KaTeX is served by this site; nothing is loaded from another host.
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

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderArithmatex(body));
} else {
  document.addEventListener("DOMContentLoaded", () => renderArithmatex(document.body));
}
