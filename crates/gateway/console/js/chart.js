// The per-function chart: executions per minute and p50/p99 duration per minute over the
// last hour, computed here from execution records and drawn as inline SVG.

import { h, s } from './dom.js';
import { milliseconds } from './format.js';

const MINUTE = 60_000;

/** The nearest-rank percentile `p` (0–100) of sorted `values`. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Buckets `executions` into the `minutes` whole minutes ending with the current one:
 * per minute the count, the failures and the p50/p99 duration in milliseconds, and the same
 * over the whole window.
 */
export function summarize(executions, now = Date.now(), minutes = 60) {
  const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  const start = end - minutes * MINUTE;
  const buckets = Array.from({ length: minutes }, (_, i) => ({ start: start + i * MINUTE, count: 0, failed: 0, durations: [] }));
  const all = [];
  for (const execution of executions) {
    const at = new Date(execution.$createdAt).getTime();
    if (!(at >= start && at < end)) continue;
    const bucket = buckets[Math.floor((at - start) / MINUTE)];
    bucket.count += 1;
    if (execution.status === 'failed') bucket.failed += 1;
    if (execution.status === 'completed' || execution.status === 'failed') {
      bucket.durations.push(execution.duration * 1000);
      all.push(execution.duration * 1000);
    }
  }
  const byNumber = (a, b) => a - b;
  for (const bucket of buckets) {
    bucket.durations.sort(byNumber);
    bucket.p50 = percentile(bucket.durations, 50);
    bucket.p99 = percentile(bucket.durations, 99);
  }
  all.sort(byNumber);
  return {
    start, end, buckets,
    total: buckets.reduce((sum, b) => sum + b.count, 0),
    failed: buckets.reduce((sum, b) => sum + b.failed, 0),
    p50: percentile(all, 50),
    p99: percentile(all, 99),
  };
}

/** A round number at or above `value` for an axis top. */
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value);
  return step * magnitude;
}

const PAD = { left: 56, right: 12 };

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function panel({ W, top, height, max, format, title }, children) {
  const y = (value) => top + height - (value / max) * height;
  const grid = [0, 0.5, 1].map((f) => [
    s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), class: 'grid' }),
    s('text', { x: PAD.left - 6, y: y(max * f) + 4, class: 'axis', 'text-anchor': 'end' }, format(max * f)),
  ]);
  return s('g', {}, s('text', { x: PAD.left, y: top - 8, class: 'panel-title' }, title), grid, children(y));
}

function linePath(points) {
  let path = '';
  let pen = false;
  for (const point of points) {
    if (point === null) { pen = false; continue; }
    path += `${pen ? 'L' : 'M'}${point[0].toFixed(1)},${point[1].toFixed(1)}`;
    pen = true;
  }
  return path;
}

/**
 * The chart of `summary` as an `<svg>` with a legend, drawn `width` units wide (the space it
 * gets, so its text stays readable on a narrow window).
 */
export function chart(summary, width = 720) {
  const W = Math.round(Math.max(300, Math.min(900, width)));
  const PLOT_W = W - PAD.left - PAD.right;
  const { buckets } = summary;
  const slot = PLOT_W / buckets.length;
  const x = (i) => PAD.left + i * slot;
  const countMax = niceCeiling(Math.max(...buckets.map((b) => b.count)));
  const durationMax = niceCeiling(Math.max(0, ...buckets.map((b) => (Number.isFinite(b.p99) ? b.p99 : 0))));
  const counts = panel({ W, top: 28, height: 96, max: countMax, title: 'Executions per minute',
    format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) }, (y) => buckets.map((b, i) => b.count === 0 ? null
    : s('g', {},
      s('rect', { x: x(i) + 1, y: y(b.count), width: Math.max(1, slot - 2), height: y(0) - y(b.count), class: 'bar' },
        s('title', {}, `${clock(b.start)}: ${b.count} executions, ${b.failed} failed`)),
      b.failed ? s('rect', { x: x(i) + 1, y: y(b.failed), width: Math.max(1, slot - 2), height: y(0) - y(b.failed), class: 'bar failed' }) : null)));
  const line = (key) => buckets.map((b, i) => (Number.isFinite(b[key]) ? [x(i) + slot / 2, b[key]] : null));
  const durations = panel({ W, top: 172, height: 96, max: durationMax, title: 'Duration per minute (p50, p99)',
    format: milliseconds }, (y) => {
    const scaled = (points) => points.map((p) => (p ? [p[0], y(p[1])] : null));
    const dots = (points, cls) => scaled(points).map((p) => (p ? s('circle', { cx: p[0], cy: p[1], r: 2.2, class: cls }) : null));
    return [
      s('path', { d: linePath(scaled(line('p99'))), class: 'line p99' }),
      s('path', { d: linePath(scaled(line('p50'))), class: 'line p50' }),
      dots(line('p99'), 'dot p99'), dots(line('p50'), 'dot p50'),
    ];
  });
  const ticks = (W < 520 ? [0, 20, 40, 60] : [0, 10, 20, 30, 40, 50, 60]).map((minute) => s('text', {
    x: PAD.left + (minute / 60) * PLOT_W, y: 290, class: 'axis',
    'text-anchor': minute === 0 ? 'start' : minute === 60 ? 'end' : 'middle',
  }, clock(summary.start + minute * MINUTE)));
  const svg = s('svg', { viewBox: `0 0 ${W} 298`, class: 'chart', role: 'img', id: 'chart',
    'aria-label': `Last hour: ${summary.total} executions, p50 ${milliseconds(summary.p50)}, p99 ${milliseconds(summary.p99)}` },
  counts, durations, ticks);
  const legend = h('div', { class: 'legend' },
    h('span', { class: 'key bar' }, 'executions'), h('span', { class: 'key failed' }, 'failed'),
    h('span', { class: 'key p50' }, 'p50'), h('span', { class: 'key p99' }, 'p99'));
  return h('figure', { class: 'chart-figure' }, svg, legend);
}
