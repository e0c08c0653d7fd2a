// Small SVG charts for figures people would rather look at than read: bars per month, a line of
// the party count. Each chart carries its figures as text (title and description) for screen
// readers, and every chart sits next to the table with the same numbers.

const SVG = "http://www.w3.org/2000/svg";
let chartCount = 0;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(title, points, width, height) {
  const id = `chart-${++chartCount}`;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
    class: "chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(el("title", { id: `${id}-title` }, title));
  svg.append(el("desc", { id: `${id}-desc` }, points.map((p) => `${p.label}: ${p.value}`).join("; ")));
  return svg;
}

// As wide as the page gives, in the SVG's own units: the labels keep their size on a phone
// instead of being scaled down with a desk-sized drawing.
function fitWidth() {
  const room = document.getElementById("main")?.clientWidth ?? 640;
  return Math.max(300, Math.min(720, room - 24));
}

function niceMax(values) {
  const top = Math.max(1, ...values);
  const step = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / step) * step;
}

function axis(svg, max, left, top, plotH, width) {
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH - fraction * plotH;
    svg.append(el("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }));
    svg.append(el("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, Math.round(max * fraction)));
  }
}

// The frame, the scale and the grid both charts share.
const LEFT = 44;
const TOP = 20;
const BOTTOM = 40;

function plot(title, points, width, height) {
  const svg = frame(title, points, width, height);
  const plotH = height - TOP - BOTTOM;
  const max = niceMax(points.map((p) => p.value));
  axis(svg, max, LEFT, TOP, plotH, width);
  const y = (value) => TOP + plotH - (value / max) * plotH;
  return { svg, y };
}

// points: [{label, value}]; one bar each, its value written above it.
export function barChart(title, points, { width = fitWidth(), height = 240 } = {}) {
  const { svg, y: yOf } = plot(title, points, width, height);
  const slot = (width - LEFT - 8) / Math.max(1, points.length);
  const barW = Math.max(4, Math.min(48, slot * 0.7));
  points.forEach((p, i) => {
    const x = LEFT + i * slot + (slot - barW) / 2;
    const y = yOf(p.value);
    const bar = el("rect", { x, y, width: barW, height: Math.max(yOf(0) - y, 0.5), class: "bar" });
    bar.append(el("title", {}, `${p.label}: ${p.value}`));
    svg.append(bar);
    svg.append(el("text", { x: x + barW / 2, y: y - 4, class: "value", "text-anchor": "middle" }, p.value));
    svg.append(el("text", { x: x + barW / 2, y: height - BOTTOM + 16, class: "tick", "text-anchor": "middle" }, p.short ?? p.label));
  });
  return svg;
}

// points: [{label, value}] joined by a line, each point marked and labelled.
export function lineChart(title, points, { width = fitWidth(), height = 240 } = {}) {
  const { svg, y } = plot(title, points, width, height);
  const step = (width - LEFT - 24) / Math.max(1, points.length - 1);
  const xy = points.map((p, i) => [LEFT + 8 + i * step, y(p.value)]);
  if (xy.length > 1) {
    svg.append(el("polyline", { points: xy.map(([x, y]) => `${x},${y}`).join(" "), class: "line" }));
  }
  points.forEach((p, i) => {
    const [x, y] = xy[i];
    const dot = el("circle", { cx: x, cy: y, r: 4, class: "dot" });
    dot.append(el("title", {}, `${p.label}: ${p.value}`));
    svg.append(dot);
    svg.append(el("text", { x, y: y - 8, class: "value", "text-anchor": "middle" }, p.value));
    svg.append(el("text", { x, y: height - BOTTOM + 16, class: "tick", "text-anchor": "middle" }, p.short ?? p.label));
  });
  return svg;
}
