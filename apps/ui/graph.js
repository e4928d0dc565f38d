// The graph: a node per entity and per memory, an edge from each memory to the entities it
// mentions, and a dashed edge from a memory to the one it superseded. Drawn with cytoscape.
import cytoscape from './vendor/cytoscape.esm.min.mjs';
import { truncate } from './dom.js';

const STATUS_COLOUR = {
  active: '#2f6fdf',
  invalidated: '#9aa3ad',
  quarantined: '#d98a00',
  rejected: '#c2413b',
  archived: '#b7bcc2',
  forgotten: '#d0d4d8',
};

const STYLE = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'font-size': 10,
      'text-wrap': 'wrap',
      'text-max-width': 120,
      color: '#1d232a',
      'text-valign': 'bottom',
      'text-margin-y': 4,
    },
  },
  {
    selector: 'node.entity',
    style: { shape: 'ellipse', width: 26, height: 26, 'background-color': '#16a085', 'font-weight': 'bold' },
  },
  {
    selector: 'node.memory',
    style: {
      shape: 'round-rectangle',
      width: 18,
      height: 18,
      'background-color': 'data(colour)',
      color: '#4a5561',
      // Memory texts are long: label them only on hover or selection, or the graph is unreadable.
      label: '',
    },
  },
  { selector: 'node.memory.hover, node.memory:selected', style: { label: 'data(label)', 'z-index': 10, 'text-background-color': '#fff', 'text-background-opacity': 0.9, 'text-background-padding': 2 } },
  { selector: 'node.inactive', style: { opacity: 0.5 } },
  { selector: 'node.quarantined', style: { 'border-width': 3, 'border-style': 'dashed', 'border-color': '#d98a00' } },
  { selector: 'edge', style: { width: 1.2, 'line-color': '#c5ccd3', 'curve-style': 'bezier' } },
  {
    selector: 'edge.supersedes',
    style: { 'line-style': 'dashed', 'line-color': '#9aa3ad', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#9aa3ad' },
  },
  { selector: '.faded', style: { opacity: 0.12 } },
  { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#111', 'border-style': 'solid' } },
];

/** Cytoscape elements for a set of memories (pure: exported for reuse and reasoning). */
export function graphElements(memories) {
  const ids = new Set(memories.map((m) => m.id));
  const entities = new Map();
  const nodes = [];
  const edges = [];
  for (const m of memories) {
    nodes.push({
      group: 'nodes',
      data: { id: `m:${m.id}`, memoryId: m.id, label: truncate(m.text, 40), colour: STATUS_COLOUR[m.status] ?? '#888' },
      classes: `memory status-${m.status}${m.status === 'active' ? '' : ' inactive'}${m.status === 'quarantined' ? ' quarantined' : ''}`,
    });
    for (const name of new Set(m.entities)) {
      if (!entities.has(name)) entities.set(name, { group: 'nodes', data: { id: `e:${name}`, entity: name, label: name }, classes: 'entity' });
      edges.push({ group: 'edges', data: { id: `x:${m.id}:${name}`, source: `m:${m.id}`, target: `e:${name}` }, classes: 'mentions' });
    }
    if (m.invalidatedBy && ids.has(m.invalidatedBy)) {
      edges.push({
        group: 'edges',
        data: { id: `s:${m.invalidatedBy}:${m.id}`, source: `m:${m.invalidatedBy}`, target: `m:${m.id}` },
        classes: 'supersedes',
      });
    }
  }
  return [...entities.values(), ...nodes, ...edges];
}

/**
 * Draws the graph into `container` (which must be visible, cytoscape measures it) and returns the
 * cytoscape instance. `onMemory(id)` and `onEntity(name)` are called on taps.
 */
export function renderGraph(container, memories, { onMemory, onEntity }) {
  const cy = cytoscape({
    container,
    elements: graphElements(memories),
    style: STYLE,
    layout: { name: 'cose', animate: false, nodeRepulsion: () => 9000, idealEdgeLength: () => 60, padding: 20 },
    minZoom: 0.2,
    maxZoom: 3,
  });
  cy.on('tap', 'node', (evt) => {
    const node = evt.target;
    // Fade everything but the tapped node's neighbourhood, so a busy graph stays legible.
    cy.elements().addClass('faded');
    node.closedNeighborhood().removeClass('faded');
    if (node.hasClass('memory')) onMemory(node.data('memoryId'));
    else onEntity(node.data('entity'));
  });
  cy.on('mouseover', 'node.memory', (evt) => evt.target.addClass('hover'));
  cy.on('mouseout', 'node.memory', (evt) => evt.target.removeClass('hover'));
  cy.on('tap', (evt) => {
    if (evt.target === cy) cy.elements().removeClass('faded');
  });
  return cy;
}
