// The timeline: one row per memory with a bar over its world-time validity (validFrom → validTo).
// Open-ended bars run to the right edge; superseded, quarantined, rejected and archived memories
// keep their bar but are styled by status so the history stays readable.
import { fmtMonth, fmtTime, h, kindBadge, mount, statusBadge, truncate } from './dom.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * The world-time span the axis covers: every validity bound, padded a little on both sides.
 * System times (recordedAt, supersededAt) are left out: they are when Engram learnt something,
 * and mixing them in would stretch the axis to today for any old conversation.
 */
function span(memories) {
  const times = memories.flatMap((m) => [m.validFrom, m.validTo]).filter((t) => typeof t === 'number');
  let from = Math.min(...times);
  let to = Math.max(...times);
  if (to - from < DAY) to = from + DAY;
  const pad = (to - from) * 0.03;
  from -= pad;
  to += pad;
  return { from, to };
}

/** About five round ticks within the span: days or weeks apart, else on month boundaries. */
function ticks(from, to) {
  const days = (to - from) / DAY;
  if (days <= 6 * 7) {
    const step = days <= 6 ? DAY : 7 * DAY;
    const out = [];
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
    return out;
  }
  const months = [1, 2, 3, 6, 12, 24, 60].find((m) => days / (30.4 * m) <= 7) ?? 120;
  const start = new Date(from);
  let y = start.getUTCFullYear();
  let mo = Math.ceil((start.getUTCMonth() + (start.getUTCDate() > 1 ? 1 : 0)) / months) * months;
  const out = [];
  for (;;) {
    const t = Date.UTC(y, mo, 1);
    if (t > to) break;
    out.push(t);
    mo += months;
    y += Math.floor(mo / 12);
    mo %= 12;
  }
  return out;
}

/** Orders memories by when they became true, then when Engram learnt them. */
function byValidity(a, b) {
  return a.validFrom - b.validFrom || a.recordedAt - b.recordedAt || a.id.localeCompare(b.id);
}

/** Renders the timeline into `container`; `onSelect(id)` is called when a row is clicked. */
export function renderTimeline(container, memories, { selected, onSelect }) {
  if (memories.length === 0) {
    mount(container, h('p', { class: 'muted', testid: 'timeline-empty' }, 'No memories to show.'));
    return;
  }
  const { from, to } = span(memories);
  const pct = (t) => ((t - from) / (to - from)) * 100;

  const axis = h(
    'div',
    { class: 'tl-row tl-axis' },
    h('div', { class: 'tl-label' }, `${memories.length} memories`),
    h(
      'div',
      { class: 'tl-track' },
      ticks(from, to).map((t) => h('span', { class: 'tl-tick', style: { left: `${pct(t)}%` } }, fmtMonth(t))),
    ),
  );

  const rows = [...memories].sort(byValidity).map((m) => {
    const start = pct(m.validFrom);
    const end = m.validTo === null ? 100 : pct(m.validTo);
    const superseded = m.status === 'invalidated' && m.invalidatedBy;
    const title = [
      `${m.kind} · ${superseded ? 'superseded' : m.status} · v${m.version}`,
      `valid ${fmtTime(m.validFrom)} → ${m.validTo === null ? 'now' : fmtTime(m.validTo)}`,
      `recorded ${fmtTime(m.recordedAt)}${m.supersededAt ? ` · superseded ${fmtTime(m.supersededAt)}` : ''}`,
    ].join('\n');
    return h(
      'div',
      {
        class: `tl-row memory status-${m.status}${m.id === selected ? ' selected' : ''}`,
        testid: 'memory-row',
        dataset: { id: m.id, status: m.status },
        role: 'button',
        tabindex: '0',
        title,
        onclick: () => onSelect(m.id),
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            onSelect(m.id);
          }
        },
      },
      h(
        'div',
        { class: 'tl-label' },
        kindBadge(m.kind),
        m.status === 'active' ? null : statusBadge(m),
        h('span', { class: 'tl-text' }, truncate(m.text, 90)),
      ),
      h(
        'div',
        { class: 'tl-track' },
        h('span', {
          class: `tl-bar status-${m.status}${m.validTo === null ? ' open' : ''}`,
          style: { left: `${start}%`, width: `max(4px, ${Math.max(0, end - start)}%)` },
        }),
      ),
    );
  });

  mount(container, axis, rows);
}
