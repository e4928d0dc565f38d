// The side panel: one memory with its quoted source messages and its version history, or one
// entity with the memories that mention it.
import { fmtTime, h, kindBadge, mount, statusBadge, truncate } from './dom.js';

function field(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function memoryLink(id, text, onOpen) {
  return h('button', { type: 'button', class: 'link', testid: 'memory-link', dataset: { id }, onclick: () => onOpen(id) }, text);
}

function sourceQuote(s) {
  const who = [s.speaker, s.role ? `(${s.role})` : null].filter(Boolean).join(' ');
  return h(
    'figure',
    { class: 'source', testid: 'source-quote', dataset: { messageId: s.messageId } },
    s.text === null
      ? h('blockquote', { class: 'erased' }, 'This message was erased.')
      : h('blockquote', { testid: 'source-text' }, s.text),
    h(
      'figcaption',
      {},
      `${who || 'unknown'} · ${fmtTime(s.occurredAt)} · `,
      h('code', { title: `event ${s.eventId}` }, `${s.topic}/${s.partition}@${s.offset}`),
    ),
  );
}

function historyList(history) {
  return h(
    'ol',
    { class: 'history', testid: 'history' },
    history.map((v) =>
      h(
        'li',
        { testid: 'history-entry', dataset: { version: String(v.version) } },
        h(
          'div',
          { class: 'h-head' },
          h('strong', {}, `v${v.version} ${v.type.replace(/^Memory/, '')}`),
          h('span', { class: `badge status-${v.status}` }, v.status),
          h('span', { class: 'muted' }, fmtTime(v.recordedAt)),
        ),
        h('div', {}, v.text),
        h('div', { class: 'muted' }, `valid ${fmtTime(v.validFrom)} → ${v.validTo === null ? 'now' : fmtTime(v.validTo)}`),
        v.reason ? h('div', { class: 'h-reason' }, v.reason) : null,
      ),
    ),
  );
}

/**
 * Renders `{ memory, sources, history }` (GET /v1/users/:user/memories/:id); `lookup(id)` finds a
 * loaded memory, to show the text of the one that replaced this one.
 */
export function renderMemoryDetail(container, detail, { onOpen, lookup = () => undefined }) {
  const m = detail.memory;
  mount(
    container,
    h(
      'article',
      { testid: 'memory-detail', dataset: { id: m.id, status: m.status } },
      h('header', {}, kindBadge(m.kind), statusBadge(m), h('span', { class: 'muted' }, ` v${m.version} · ${m.granularity}`)),
      h('h2', { class: `memory-text status-${m.status}`, testid: 'memory-text' }, m.text),
      m.status === 'quarantined' && m.quarantineReasons.length > 0
        ? h('div', { class: 'warning', testid: 'quarantine-reasons' }, h('strong', {}, 'Held back: '), m.quarantineReasons.join('; '))
        : null,
      h(
        'dl',
        { class: 'fields' },
        field('valid', `${fmtTime(m.validFrom)} → ${m.validTo === null ? 'now' : fmtTime(m.validTo)}`),
        field('recorded', fmtTime(m.recordedAt)),
        m.supersededAt ? field('superseded', fmtTime(m.supersededAt)) : null,
        m.invalidatedBy ? field('replaced by', memoryLink(m.invalidatedBy, truncate(lookup(m.invalidatedBy)?.text ?? m.invalidatedBy, 60), onOpen)) : null,
        m.triple ? field('claim', `${m.triple.subject} · ${m.triple.predicate} · ${m.triple.object}`) : null,
        m.entities.length > 0 ? field('entities', m.entities.map((e) => h('span', { class: 'chip' }, e))) : null,
        field('importance', m.importance.toFixed(2)),
        field('id', h('code', {}, m.id)),
      ),
      h('h3', {}, `Sources (${detail.sources.length})`),
      detail.sources.length === 0 ? h('p', { class: 'muted' }, 'No source messages.') : h('div', { testid: 'sources' }, detail.sources.map(sourceQuote)),
      h('h3', {}, `History (${detail.history.length})`),
      historyList(detail.history),
    ),
  );
}

/** Renders an entity with the memories (of those loaded) that mention it. */
export function renderEntityDetail(container, name, memories, { onOpen }) {
  const mentioning = memories.filter((m) => m.entities.includes(name));
  mount(
    container,
    h(
      'article',
      { testid: 'entity-detail' },
      h('header', {}, h('span', { class: 'badge entity' }, 'entity')),
      h('h2', {}, name),
      h('h3', {}, `Mentioned by ${mentioning.length} memor${mentioning.length === 1 ? 'y' : 'ies'}`),
      h(
        'ul',
        { class: 'plain' },
        mentioning.map((m) => h('li', {}, m.status === 'active' ? null : statusBadge(m), ' ', memoryLink(m.id, truncate(m.text, 80), onOpen))),
      ),
    ),
  );
}

/** A loading or error note in the panel. */
export function renderDetailNote(container, text, isError = false) {
  mount(container, h('p', { class: isError ? 'error' : 'muted' }, text));
}
