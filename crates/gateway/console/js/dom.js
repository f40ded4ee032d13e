// Building the page from data without ever parsing data as HTML: text becomes text nodes and
// attributes go through setAttribute, so nothing the API returns (a tenant's function name, its
// logs, a response body) can turn into markup or script. Links may only point inside the console.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Properties set directly on the element rather than as attributes.
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open', 'indeterminate']);

function safeUrl(value) {
  const text = String(value);
  if (text.startsWith('#') || text.startsWith('blob:') || /^\/(?!\/)/.test(text)) return text;
  throw new Error(`refusing a link outside the console: ${text}`);
}

function setProps(el, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (PROPERTIES.has(name)) {
      el[name] = value;
    } else if (name === 'href' || name === 'src') {
      el.setAttribute(name, safeUrl(value));
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

/** Appends children: nodes as they are, strings and numbers as text, arrays flattened. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: `h('a', { href: '#/x', class: 'link' }, 'text', otherNode)`. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, ...children);
}

/** An SVG element, attributes as given. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  return append(el, ...children);
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** A `<select>` of `[value, label]` options with `selected` chosen. */
export function select(props, options, selected) {
  return h('select', props, options.map(([value, label]) =>
    h('option', { value, selected: value === selected }, label)));
}

/** A labelled form field around `control`, with an optional hint below it. */
export function field(label, control, hint) {
  return h('label', { class: 'field' },
    h('span', { class: 'field-label' }, label),
    control,
    hint ? h('span', { class: 'field-hint' }, hint) : null);
}

/** An error box for `error` (an ApiError or any Error), announced to screen readers. */
export function errorBox(error) {
  const type = error && error.type ? ` (${error.type})` : '';
  return h('div', { class: 'alert error', role: 'alert' }, `${error?.message || error}${type}`);
}

/** Calls `fn` every `ms` until `signal` aborts; a slow call never overlaps the next. */
export function every(ms, signal, fn) {
  let timer;
  const tick = async () => {
    if (signal.aborted) return;
    try { await fn(); } catch (error) { console.warn(error); }
    if (!signal.aborted) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  signal.addEventListener('abort', () => clearTimeout(timer));
}
