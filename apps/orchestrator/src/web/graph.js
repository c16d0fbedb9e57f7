'use strict';
/**
 * The run inspector's DAG as SVG. Boxes are as wide as their labels (measured, capped, the rest
 * cut with "…" and kept in a tooltip), so no text crosses a box edge or an arrow. Levels go left
 * to right when that fits the page; on a narrow screen they go top to bottom instead, and the
 * drawing scales down rather than scrolling sideways.
 */
const Graph = (() => {
  const NODE_MIN = 120;
  const NODE_MAX = 240;
  const NODE_H = 48;
  const PAD = 10;
  const GAP_X = 56;
  const GAP_Y = 20;
  const GAP_LEVEL_Y = 40;
  const context = document.createElement('canvas').getContext('2d');
  const measure = (text, bold) => {
    context.font = `${bold ? '600 ' : ''}12px system-ui, sans-serif`;
    return context.measureText(text).width;
  };
  /** `text` cut (with "…") to at most `max` pixels. */
  const fit = (text, max, bold) => {
    if (measure(text, bold) <= max) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (measure(`${text.slice(0, mid)}…`, bold) <= max) lo = mid;
      else hi = mid - 1;
    }
    return `${text.slice(0, lo)}…`;
  };

  function levels(graph) {
    const level = new Map();
    const depth = (name) => {
      if (level.has(name)) return level.get(name);
      const node = graph.find((s) => s.name === name);
      const d = node && node.needs.length ? 1 + Math.max(...node.needs.map(depth)) : 0;
      level.set(name, d);
      return d;
    };
    graph.forEach((s) => depth(s.name));
    const groups = [];
    graph.forEach((s) => (groups[level.get(s.name)] ??= []).push(s.name));
    return groups;
  }

  function horizontal(groups, widthOf) {
    const pos = new Map();
    let x = 0;
    groups.forEach((names) => {
      const w = Math.max(...names.map(widthOf));
      names.forEach((n, i) => pos.set(n, { x, y: i * (NODE_H + GAP_Y), w }));
      x += w + GAP_X;
    });
    const rows = Math.max(...groups.map((g) => g.length));
    return { pos, width: x - GAP_X, height: rows * (NODE_H + GAP_Y) - GAP_Y, vertical: false };
  }

  function vertical(groups, widthOf) {
    const pos = new Map();
    const rowWidth = (names) =>
      names.reduce((sum, n) => sum + widthOf(n), 0) + (names.length - 1) * GAP_Y;
    const width = Math.max(...groups.map(rowWidth));
    groups.forEach((names, level) => {
      let x = (width - rowWidth(names)) / 2;
      names.forEach((n) => {
        pos.set(n, { x, y: level * (NODE_H + GAP_LEVEL_Y), w: widthOf(n) });
        x += widthOf(n) + GAP_Y;
      });
    });
    return {
      pos,
      width,
      height: groups.length * (NODE_H + GAP_LEVEL_Y) - GAP_LEVEL_Y,
      vertical: true,
    };
  }

  /**
   * nodes: [{ name, needs, title, sub, status, selected }]; available: the width it may take.
   * Returns the SVG markup.
   */
  function render(nodes, available, esc) {
    if (nodes.length === 0) return '';
    const widths = new Map(
      nodes.map((n) => [
        n.name,
        Math.min(
          NODE_MAX,
          Math.max(NODE_MIN, Math.ceil(Math.max(measure(n.title, true), measure(n.sub))) + 2 * PAD),
        ),
      ]),
    );
    const widthOf = (name) => widths.get(name);
    const groups = levels(nodes);
    let layout = horizontal(groups, widthOf);
    if (layout.width + 8 > available) layout = vertical(groups, widthOf);
    const { pos } = layout;
    const edges = nodes.flatMap((n) =>
      n.needs
        .filter((m) => pos.has(m))
        .map((m) => {
          const a = pos.get(m);
          const b = pos.get(n.name);
          if (layout.vertical) {
            const [x1, y1, x2, y2] = [a.x + a.w / 2, a.y + NODE_H, b.x + b.w / 2, b.y - 2];
            return `<path class="edge" d="M${x1},${y1} C${x1},${y1 + 18} ${x2},${y2 - 18} ${x2},${y2}"></path>`;
          }
          const [x1, y1, x2, y2] = [a.x + a.w, a.y + NODE_H / 2, b.x - 2, b.y + NODE_H / 2];
          return `<path class="edge" d="M${x1},${y1} C${x1 + 24},${y1} ${x2 - 24},${y2} ${x2},${y2}"></path>`;
        }),
    );
    const boxes = nodes.map((n) => {
      const p = pos.get(n.name);
      const inner = p.w - 2 * PAD;
      return `<g class="node ${esc(n.status)}${n.selected ? ' selected' : ''}" data-step="${esc(n.name)}" transform="translate(${p.x + 4},${p.y + 4})">
  <title>${esc(`${n.title}\n${n.sub}`)}</title><rect width="${p.w}" height="${NODE_H}"></rect><text class="title" x="${PAD}" y="20">${esc(fit(n.title, inner, true))}</text><text class="sub" x="${PAD}" y="38">${esc(fit(n.sub, inner))}</text></g>`;
    });
    // Edges are drawn in the same translated frame as the boxes.
    const w = layout.width + 8;
    const h = layout.height + 8;
    return `<svg id="dag" data-layout="${layout.vertical ? 'vertical' : 'horizontal'}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">
  <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8c959f"></path></marker></defs>
  <g transform="translate(4,4)">${edges.join('')}</g>${boxes.join('')}</svg>`;
  }

  return { render };
})();
