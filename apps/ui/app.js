// The memory explorer: wires the key field, the user picker, the three views (timeline, graph,
// quarantine) and the detail panel to the API. Plain DOM, no framework, no build step.
import { createApi } from './api.js';
import { renderDetailNote, renderEntityDetail, renderMemoryDetail } from './detail.js';
import { h, mount } from './dom.js';
import { renderGraph } from './graph.js';
import { renderQuarantine } from './quarantine.js';
import { renderTimeline } from './timeline.js';

const KEY_STORE = 'engram.apiKey';
const USER_STORE = 'engram.user';

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

const state = {
  key: localStorage.getItem(KEY_STORE) ?? '',
  user: '',
  memories: [],
  queue: [],
  view: 'timeline',
  selected: null,
  graphDirty: true,
  cy: null,
  detailSeq: 0,
};

const api = createApi(() => state.key);

function setStatus(text, kind = 'info') {
  const el = $('status');
  el.textContent = text;
  el.dataset.kind = kind;
}

function explain(err) {
  if (err && err.status === 401) return 'The API key was refused (unauthorized). Check the key and connect again.';
  if (err && err.status === 403) return `Not allowed with this key: ${err.message}`;
  return err && err.message ? err.message : String(err);
}

/** The memories the filter box and the "show inactive" toggle let through. */
function visibleMemories() {
  const q = $('filter').value.trim().toLowerCase();
  const showInactive = $('show-inactive').checked;
  return state.memories.filter(
    (m) =>
      m.status !== 'forgotten' &&
      (showInactive || m.status === 'active') &&
      (q === '' || m.text.toLowerCase().includes(q) || m.entities.some((e) => e.toLowerCase().includes(q))),
  );
}

function drawTimeline() {
  renderTimeline($('timeline'), visibleMemories(), { selected: state.selected, onSelect: (id) => openMemory(state.user, id) });
}

/** Episodes (turns) and summaries mention most entities and crowd the graph: opt-in. */
const TURN_KINDS = new Set(['episode', 'summary']);

function drawGraph() {
  if (state.cy) state.cy.destroy();
  const turns = $('graph-turns').checked;
  state.cy = renderGraph($('graph'), visibleMemories().filter((m) => turns || !TURN_KINDS.has(m.kind)), {
    onMemory: (id) => openMemory(state.user, id),
    onEntity: (name) => renderEntityDetail($('detail'), name, state.memories, { onOpen: (id) => openMemory(state.user, id) }),
  });
  // Exposed for the browser test and for poking at the graph from the console.
  window.cy = state.cy;
  state.graphDirty = false;
}

function drawQueue() {
  renderQuarantine($('quarantine'), state.queue, { onReview: review, onOpen: (item) => openMemory(item.userId, item.memoryId) });
  $('quarantine-count').textContent = state.queue.length > 0 ? String(state.queue.length) : '';
}

/** Redraws what depends on the memories; the graph only when visible (cytoscape needs a size). */
function drawMemories() {
  drawTimeline();
  state.graphDirty = true;
  if (state.view === 'graph') drawGraph();
}

function show(view) {
  state.view = view;
  for (const tab of document.querySelectorAll('[role="tab"]')) tab.setAttribute('aria-selected', String(tab.dataset.view === view));
  for (const section of document.querySelectorAll('section.view')) section.hidden = section.dataset.view !== view;
  if (view === 'graph') {
    if (state.graphDirty || !state.cy) drawGraph();
    else {
      state.cy.resize();
      state.cy.fit(undefined, 20);
    }
  }
}

async function openMemory(user, id) {
  state.selected = user === state.user ? id : null;
  const seq = ++state.detailSeq;
  renderDetailNote($('detail'), 'Loading…');
  for (const row of document.querySelectorAll('[data-testid="memory-row"]')) row.classList.toggle('selected', row.dataset.id === id);
  try {
    const detail = await api.memory(user, id);
    if (seq !== state.detailSeq) return; // a later click won
    renderMemoryDetail($('detail'), detail, {
      onOpen: (other) => openMemory(user, other),
      lookup: (other) => (user === state.user ? state.memories.find((m) => m.id === other) : undefined),
    });
  } catch (err) {
    if (seq === state.detailSeq) renderDetailNote($('detail'), explain(err), true);
  }
}

async function review(item, approve, reason) {
  try {
    const { memory } = await api.review(item.memoryId, item.userId, approve, reason);
    setStatus(`${approve ? 'Approved' : 'Rejected'}: “${memory.text}” is now ${memory.status}.`, 'ok');
    await loadQueue();
    if (item.userId === state.user) await loadMemories();
  } catch (err) {
    setStatus(explain(err), 'error');
  }
}

async function loadMemories() {
  state.memories = await api.memories(state.user);
  drawMemories();
}

async function loadQueue() {
  state.queue = await api.quarantine();
  drawQueue();
}

async function pickUser(user) {
  state.user = user;
  state.selected = null;
  localStorage.setItem(USER_STORE, user);
  renderDetailNote($('detail'), 'Click a memory to see its sources and history.');
  setStatus(`Loading ${user}…`);
  try {
    await Promise.all([loadMemories(), loadQueue()]);
    const inactive = state.memories.filter((m) => m.status !== 'active').length;
    setStatus(`${user}: ${state.memories.length} memories (${inactive} not active), ${state.queue.length} in the tenant's quarantine queue.`, 'ok');
  } catch (err) {
    setStatus(explain(err), 'error');
  }
}

async function connect() {
  state.key = $('api-key').value.trim();
  if (state.key === '') {
    setStatus('Enter an API key first.', 'error');
    return;
  }
  localStorage.setItem(KEY_STORE, state.key);
  setStatus('Connecting…');
  const select = $('user-select');
  try {
    const users = await api.users();
    const remembered = localStorage.getItem(USER_STORE);
    mount(select, users.length === 0 ? h('option', { value: '' }, 'no users yet') : users.map((u) => h('option', { value: u }, u)));
    select.disabled = users.length === 0;
    if (users.length === 0) {
      setStatus('Connected. This tenant has no memories yet.', 'ok');
      return;
    }
    const user = remembered && users.includes(remembered) ? remembered : users[0];
    select.value = user;
    await pickUser(user);
  } catch (err) {
    select.disabled = true;
    setStatus(explain(err), 'error');
  }
}

function init() {
  $('api-key').value = state.key;
  $('connect-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void connect();
  });
  $('user-select').addEventListener('change', (e) => void pickUser(e.target.value));
  for (const tab of document.querySelectorAll('[role="tab"]')) tab.addEventListener('click', () => show(tab.dataset.view));
  $('filter').addEventListener('input', drawMemories);
  $('show-inactive').addEventListener('change', drawMemories);
  $('graph-turns').addEventListener('change', drawGraph);
  window.explorer = { state, reload: () => pickUser(state.user) };
  if (state.key !== '') void connect();
}

init();
