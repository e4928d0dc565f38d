// Small DOM and formatting helpers. Every text goes in through textContent: memory text is
// untrusted (it may be an injection attempt), so nothing from the API ever becomes markup.

/**
 * Creates an element: `h('div', { class: 'x', dataset: { id } , onclick }, child, 'text', …)`.
 * Attributes starting with `on` become listeners; `null`/`false` children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'testid') el.setAttribute('data-testid', value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** `2024-03-04 09:02` in UTC (the examples and the log are in UTC); `—` for null. */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** `2024-03-04` in UTC, or `2024-03` on the first of a month (axis ticks). */
export function fmtMonth(ms) {
  const iso = new Date(ms).toISOString();
  return iso.slice(8, 10) === '01' ? iso.slice(0, 7) : iso.slice(0, 10);
}

/** Cuts a text to `n` characters with an ellipsis. */
export function truncate(text, n) {
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** A status badge; `superseded` reads better than `invalidated` when a newer memory replaced it. */
export function statusBadge(memory) {
  const label = memory.status === 'invalidated' && memory.invalidatedBy ? 'superseded' : memory.status;
  return h('span', { class: `badge status-${memory.status}`, testid: 'status-badge' }, label);
}

/** A kind badge (fact, preference, event…). */
export function kindBadge(kind) {
  return h('span', { class: `badge kind kind-${kind}` }, kind);
}
