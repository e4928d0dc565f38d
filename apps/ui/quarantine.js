// The quarantine queue: memories the guard held back, with the reasons, and approve/reject
// buttons. A reviewer's reason is required; it is recorded in the release event.
import { fmtTime, h, kindBadge, mount } from './dom.js';

function card(item, { onReview, onOpen }) {
  const reason = h('input', { type: 'text', testid: 'review-reason', placeholder: 'Reason for the decision', 'aria-label': 'reason' });
  const buttons = [];
  const decide = (approve) => async () => {
    const text = reason.value.trim();
    if (text === '') {
      reason.classList.add('invalid');
      reason.focus();
      return;
    }
    reason.classList.remove('invalid');
    for (const b of buttons) b.disabled = true;
    try {
      await onReview(item, approve, text);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  buttons.push(
    h('button', { type: 'button', class: 'approve', testid: 'approve', onclick: decide(true) }, 'Approve'),
    h('button', { type: 'button', class: 'reject', testid: 'reject', onclick: decide(false) }, 'Reject'),
  );
  return h(
    'article',
    { class: 'q-item', testid: 'quarantine-item', dataset: { id: item.memoryId, user: item.userId } },
    h(
      'header',
      {},
      kindBadge(item.kind),
      h('span', { class: 'badge status-quarantined' }, 'quarantined'),
      h('span', { class: 'muted' }, ` ${item.userId} · held ${fmtTime(item.recordedAt)} · v${item.version}`),
    ),
    h('p', { class: 'q-text' }, item.text),
    h('ul', { class: 'reasons', testid: 'quarantine-reasons' }, item.reasons.map((r) => h('li', {}, r))),
    h(
      'div',
      { class: 'q-actions' },
      h('button', { type: 'button', class: 'link', testid: 'open-quarantined', onclick: () => onOpen(item) }, `sources (${item.sources.length})`),
      reason,
      buttons,
    ),
  );
}

/** Renders the queue (GET /v1/quarantine items). */
export function renderQuarantine(container, items, handlers) {
  if (items.length === 0) {
    mount(container, h('p', { class: 'muted', testid: 'quarantine-empty' }, 'The quarantine queue is empty.'));
    return;
  }
  mount(container, items.map((item) => card(item, handlers)));
}
