// A small analytics dashboard drawn with d3 as SVG: line + area charts, sparklines, a bar chart, axes with
// labels, a hover guide with a tooltip, a legend that toggles a series, a filter box and a "refresh" that
// redraws with new data. Coordinates are left unrounded (`digits(null)`; scales over non-round ranges), as
// charting libraries commonly emit them: long decimals such as 45.963171592376895 in `d`, `width`, `x1`, `x`.
// Everything is seeded, so every run draws the same numbers; nothing animates.
import * as d3 from 'd3';

/** Deterministic PRNG (mulberry32): the same data on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

function makeData(seed) {
  const r = rng(seed);
  const days = d3.range(30).map((i) => new Date(START + i * DAY));
  const sessions = days.map((d, i) => ({ d, v: 180 + 60 * Math.sin(i / 3) + r() * 90 }));
  const errors = days.map((d) => ({ d, v: 3 + r() * 17 }));
  const hours = d3.range(24).map((h) => ({ h, v: 20 + r() * 140 + (h > 8 && h < 19 ? 90 : 0) }));
  const sparks = ['p50 load (ms)', 'p95 load (ms)', 'rage clicks', 'dead clicks'].map((name, k) => ({
    name,
    values: d3.range(40).map((i) => 10 + 5 * Math.sin(i / (2 + k)) + r() * 7),
  }));
  return { sessions, errors, hours, sparks };
}

const state = { seed: 7, showErrors: true, filter: '', hoverIndex: -1 };

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

function timeChart(host, title, series, color, width) {
  const height = 190;
  const m = { top: 14, right: 14, bottom: 26, left: 38 };
  const x = d3
    .scaleTime()
    .domain(d3.extent(series, (p) => p.d))
    .range([m.left, width - m.right]);
  const y = d3
    .scaleLinear()
    .domain([0, d3.max(series, (p) => p.v) * 1.07])
    .range([height - m.bottom, m.top]);
  const card = el('section', { class: 'card' });
  card.append(el('h2', {}, title));
  host.append(card);
  const svg = d3
    .select(card)
    .append('svg')
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`);
  svg
    .append('g')
    .attr('class', 'grid')
    .attr('transform', `translate(${m.left},0)`)
    .call(
      d3
        .axisLeft(y)
        .ticks(5)
        .tickSize(-(width - m.left - m.right))
        .tickFormat('')
    );
  const area = d3
    .area()
    .digits(null)
    .x((p) => x(p.d))
    .y0(y(0))
    .y1((p) => y(p.v))
    .curve(d3.curveMonotoneX);
  const line = d3
    .line()
    .digits(null)
    .x((p) => x(p.d))
    .y((p) => y(p.v))
    .curve(d3.curveMonotoneX);
  svg.append('path').attr('class', 'area').attr('fill', color).attr('fill-opacity', 0.18).attr('d', area(series));
  svg
    .append('path')
    .attr('class', 'line')
    .attr('fill', 'none')
    .attr('stroke', color)
    .attr('stroke-width', 2)
    .attr('d', line(series));
  svg
    .append('g')
    .attr('transform', `translate(0,${height - m.bottom})`)
    .call(d3.axisBottom(x).ticks(6).tickFormat(d3.utcFormat('%b %d')));
  svg.append('g').attr('transform', `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(5));
  svg
    .selectAll('circle.dot')
    .data(series)
    .join('circle')
    .attr('class', 'dot')
    .attr('r', 2.5)
    .attr('fill', color)
    .attr('cx', (p) => x(p.d))
    .attr('cy', (p) => y(p.v));
  const guide = svg
    .append('line')
    .attr('class', 'guide')
    .attr('stroke', '#555')
    .attr('stroke-dasharray', '3,3')
    .attr('y1', m.top)
    .attr('y2', height - m.bottom)
    .attr('visibility', 'hidden');
  const tip = svg.append('text').attr('class', 'tip').attr('font-size', 11).attr('visibility', 'hidden');
  svg.on('mousemove', (ev) => {
    const [px] = d3.pointer(ev);
    const i = Math.max(
      0,
      Math.min(series.length - 1, Math.round(((px - m.left) / (width - m.left - m.right)) * (series.length - 1)))
    );
    const p = series[i];
    guide.attr('x1', x(p.d)).attr('x2', x(p.d)).attr('visibility', 'visible');
    tip
      .attr('x', x(p.d) + 4)
      .attr('y', y(p.v) - 6)
      .attr('visibility', 'visible')
      .text(`${d3.utcFormat('%b %d')(p.d)}: ${p.v.toFixed(1)}`);
  });
  svg.on('mouseleave', () => {
    guide.attr('visibility', 'hidden');
    tip.attr('visibility', 'hidden');
  });
}

function barChart(host, title, hours, width) {
  const height = 170;
  const m = { top: 10, right: 10, bottom: 24, left: 36 };
  const x = d3
    .scaleBand()
    .domain(hours.map((h) => h.h))
    .range([m.left, width - m.right])
    .padding(0.17);
  const y = d3
    .scaleLinear()
    .domain([0, d3.max(hours, (h) => h.v) * 1.05])
    .range([height - m.bottom, m.top]);
  const card = el('section', { class: 'card' });
  card.append(el('h2', {}, title));
  host.append(card);
  const svg = d3.select(card).append('svg').attr('width', width).attr('height', height);
  svg
    .selectAll('rect')
    .data(hours)
    .join('rect')
    .attr('x', (h) => x(h.h))
    .attr('y', (h) => y(h.v))
    .attr('width', x.bandwidth())
    .attr('height', (h) => y(0) - y(h.v))
    .attr('fill', '#6e9fff');
  svg
    .append('g')
    .attr('transform', `translate(0,${height - m.bottom})`)
    .call(d3.axisBottom(x).tickValues([0, 3, 6, 9, 12, 15, 18, 21]));
  svg.append('g').attr('transform', `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(4));
}

function sparkline(host, s, width) {
  const height = 34;
  const x = d3
    .scaleLinear()
    .domain([0, s.values.length - 1])
    .range([1, width - 1]);
  const y = d3
    .scaleLinear()
    .domain(d3.extent(s.values))
    .range([height - 2, 2]);
  const box = el('div', { class: 'spark' });
  box.append(el('span', { class: 'spark-name' }, s.name));
  box.append(el('span', { class: 'spark-value' }, s.values[s.values.length - 1].toFixed(2)));
  host.append(box);
  const svg = d3.select(box).append('svg').attr('width', width).attr('height', height);
  svg
    .append('path')
    .attr('fill', 'none')
    .attr('stroke', '#c4162a')
    .attr('stroke-width', 1.3)
    .attr(
      'd',
      d3
        .line()
        .digits(null)
        .x((_, i) => x(i))
        .y((v) => y(v))(s.values)
    );
}

export function draw() {
  const app = document.getElementById('app');
  const width = Math.max(320, Math.floor((app.clientWidth - 36) / 2));
  const data = makeData(state.seed);
  const charts = document.getElementById('charts');
  charts.replaceChildren();
  const q = state.filter.toLowerCase();
  timeChart(charts, 'Sessions per Day', data.sessions, '#3274d9', width);
  if (state.showErrors) {
    timeChart(charts, 'Errors per Day', data.errors, '#e02f44', width);
  }
  barChart(charts, 'Requests by hour', data.hours, width);
  const sparks = el('section', { class: 'card sparks' });
  sparks.append(el('h2', {}, 'Web vitals'));
  charts.append(sparks);
  for (const s of data.sparks.filter((sp) => sp.name.includes(q))) {
    sparkline(sparks, s, width - 190);
  }
}

export function mount() {
  const app = document.getElementById('app');
  const bar = el('header', { class: 'toolbar' });
  bar.append(el('h1', {}, 'Shop analytics'));
  const filter = el('input', { id: 'filter', type: 'search', placeholder: 'Filter metrics', autocomplete: 'off' });
  filter.addEventListener('input', () => {
    state.filter = filter.value;
    draw();
  });
  const toggle = el('button', { id: 'toggle-errors', type: 'button' }, 'Hide errors');
  toggle.addEventListener('click', () => {
    state.showErrors = !state.showErrors;
    toggle.textContent = state.showErrors ? 'Hide errors' : 'Show errors';
    draw();
  });
  const refresh = el('button', { id: 'refresh', type: 'button' }, 'Refresh');
  refresh.addEventListener('click', () => {
    state.seed += 1;
    draw();
  });
  bar.append(filter, toggle, refresh);
  app.append(bar, el('div', { id: 'charts' }));
  draw();
  window.addEventListener('resize', () => draw());
}
