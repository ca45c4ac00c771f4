// The roadmap map's prerequisite edges (the boxes are built from docs/roadmap.yml by the roadmap hook).
// Each box lists its direct prerequisites in data-requires; an edge leaves the prerequisite at its
// bottom, runs in the free band under that row, down the gap between two columns, along the band
// above the target's row and into the target's top: it never crosses a box. Edges are redrawn when
// the column changes width; hovering or focusing a box brings out its own edges and prerequisites.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const LANE = 3;

  function svgElement(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  function boxes(map) {
    const origin = map.getBoundingClientRect();
    const found = new Map();
    map.querySelectorAll(".roadmap-map__node[data-page]").forEach((node) => {
      const r = node.getBoundingClientRect();
      found.set(node.dataset.page, {
        node, left: r.left - origin.left, right: r.right - origin.left,
        top: r.top - origin.top, bottom: r.bottom - origin.top,
        x: (r.left + r.right) / 2 - origin.left,
      });
    });
    return found;
  }

  // Rows of boxes (same top), the free band under each row, and the free gaps between columns.
  function layout(map, found) {
    const tops = [...new Set([...found.values()].map((b) => Math.round(b.top)))].sort((a, b) => a - b);
    const rows = tops.map((top) => {
      const members = [...found.values()].filter((b) => Math.round(b.top) === top);
      return { top, bottom: Math.max(...members.map((b) => b.bottom)) };
    });
    const columns = [...new Set([...found.values()].map((b) => Math.round(b.left)))].sort((a, b) => a - b);
    const rights = columns.map((left) => Math.max(...[...found.values()].filter((b) => Math.round(b.left) === left).map((b) => b.right)));
    // The gaps between columns and the margin on the right (section titles sit on the left).
    const gutters = [];
    for (let i = 0; i + 1 < columns.length; i++) {
      gutters.push({ x: (rights[i] + columns[i + 1]) / 2, width: columns[i + 1] - rights[i] });
    }
    const last = rights[rights.length - 1];
    gutters.push({ x: (last + map.clientWidth) / 2, width: map.clientWidth - last });
    return { rows, gutters };
  }

  function rowOf(rows, box) {
    return rows.findIndex((row) => row.top === Math.round(box.top));
  }

  // The n-th edge in a band or gap gets its own lane, spread around the middle and kept inside.
  function lane(lanes, key, room) {
    const n = (lanes[key] = (lanes[key] || 0) + 1) - 1;
    const count = Math.max(1, Math.floor(room / LANE));
    return ((n % count) - (count - 1) / 2) * LANE;
  }

  function route(from, to, rows, gutters, lanes) {
    const r1 = rowOf(rows, from), r2 = rowOf(rows, to);
    const gapBelow = (r) => (rows[r + 1] ? rows[r + 1].top : rows[r].bottom + 20) - rows[r].bottom;
    const gapAbove = (r) => rows[r].top - (rows[r - 1] ? rows[r - 1].bottom : rows[r].top - 20);
    const y1 = rows[r1].bottom + Math.min(9, gapBelow(r1) / 2) + lane(lanes, `b${r1}`, Math.min(9, gapBelow(r1) - 4));
    if (r2 === r1 + 1 || r2 === r1) {  // the band between the two rows (or under the shared row)
      return `M${from.x} ${from.bottom} V${y1} H${to.x} V${r2 === r1 ? to.bottom : to.top}`;
    }
    const middle = (from.x + to.x) / 2;
    const index = gutters.reduce((best, g, i) => (Math.abs(g.x - middle) < Math.abs(gutters[best].x - middle) ? i : best), 0);
    const gx = gutters[index].x + lane(lanes, `g${index}`, gutters[index].width - 4);
    const y2 = rows[r2].top - Math.min(9, gapAbove(r2) / 2) + lane(lanes, `a${r2}`, Math.min(9, gapAbove(r2) - 4));
    return `M${from.x} ${from.bottom} V${y1} H${gx} V${y2} H${to.x} V${to.top}`;
  }

  function draw(map) {
    const found = boxes(map);
    if (!found.size) return;
    const { rows, gutters } = layout(map, found);
    let svg = map.querySelector(":scope > svg.roadmap-map__edges");
    if (!svg) {
      svg = svgElement("svg", { class: "roadmap-map__edges", "aria-hidden": "true", focusable: "false" });
      map.prepend(svg);
    }
    svg.setAttribute("width", map.clientWidth);
    svg.setAttribute("height", map.scrollHeight);
    svg.replaceChildren(svgElement("defs", {}));
    const marker = svgElement("marker", {
      id: "roadmap-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse",
    });
    marker.append(svgElement("path", { d: "M0 0L10 5L0 10z" }));
    svg.firstChild.append(marker);
    const lanes = {};
    for (const [page, box] of found) {
      for (const required of (box.node.dataset.requires || "").split(" ").filter(Boolean)) {
        const from = found.get(required);
        if (!from) continue;
        svg.append(svgElement("path", {
          class: "roadmap-map__edge", "data-from": required, "data-to": page,
          d: route(from, box, rows, gutters, lanes), "marker-end": "url(#roadmap-arrow)",
        }));
      }
    }
  }

  function highlight(map, page) {
    map.classList.toggle("roadmap-map--focus", Boolean(page));
    const requires = new Set();
    map.querySelectorAll(".roadmap-map__edge").forEach((edge) => {
      const on = Boolean(page) && (edge.dataset.to === page || edge.dataset.from === page);
      edge.classList.toggle("roadmap-map__edge--on", on);
      if (on && edge.dataset.to === page) requires.add(edge.dataset.from);
    });
    map.querySelectorAll(".roadmap-map__node[data-page]").forEach((node) => {
      node.classList.toggle("roadmap-map__node--required", requires.has(node.dataset.page));
    });
  }

  function setup(map) {
    if (map.dataset.edges) return;
    map.dataset.edges = "1";
    draw(map);
    if ("ResizeObserver" in window) new ResizeObserver(() => draw(map)).observe(map);
    const active = (event) => {
      const node = event.target.closest && event.target.closest(".roadmap-map__node[data-page]");
      highlight(map, node ? node.dataset.page : null);
    };
    map.addEventListener("mouseover", active);
    map.addEventListener("focusin", active);
    map.addEventListener("mouseleave", () => highlight(map, null));
    map.addEventListener("focusout", () => highlight(map, null));
  }

  function start() {
    document.querySelectorAll(".roadmap-map").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
