import test from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { EmbeddedCandidate } from '../../core/pipeline.js';
import { seededRng } from '../../core/random.js';
import type { Rng } from '../../core/random.js';
import { cosine } from '../../core/text.js';
import { associate, clusterModelIdOf, parseClusterParameters } from '../../activities/associate/associate.js';
import type { AssociateInput, AssociateOutput } from '../../activities/associate/associate.js';
import { logLikelihood } from '../../activities/associate/gmm.js';
import { fitPca, parsePcaProjection, project } from '../../activities/associate/pca.js';

const DIM = 512;

function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

const topicRng = seededRng(99);
/** Three random topic directions in 512-d. */
const TOPICS = [0, 1, 2].map(() => unit(Array.from({ length: DIM }, () => gauss(topicRng))));

/** A unit embedding near a centre direction. */
function around(c: readonly number[], rng: Rng): number[] {
  return unit(c.map((v) => v + 0.03 * gauss(rng)));
}

/** A unit embedding near a topic (within-topic cosine around 0.7). */
function near(topic: number, rng: Rng): number[] {
  return around(TOPICS[topic] as number[], rng);
}

/** A fourth direction, unrelated to the three topics (its own Rng, so TOPICS do not change). */
const FAR_TOPIC = unit(Array.from({ length: DIM }, () => gauss(seededRng(777))));

function candidate(id: string, embedding: number[]): EmbeddedCandidate {
  return {
    id,
    sourceEventId: `evt-${id}`,
    kind: 'fact',
    granularity: 'fact',
    text: `text ${id}`,
    triple: null,
    entities: [],
    keywords: [],
    importance: 0.5,
    validFrom: 0,
    sources: [],
    role: 'user',
    speaker: 'u',
    retraction: false,
    embedding,
    embeddingModel: 'test',
    textHash: `hash-${id}`,
  } as unknown as EmbeddedCandidate; // fixture: only id and embedding matter to this stage
}

/** 20 history memories per topic, ids h<topic>-<i>, and one candidate per topic, ids c<topic>. */
function world(seed: number, perTopic = 20): { history: AssociateInput['history']; candidates: EmbeddedCandidate[] } {
  const rng = seededRng(seed);
  const history: AssociateInput['history'] = [];
  for (let t = 0; t < 3; t++) for (let i = 0; i < perTopic; i++) history.push({ id: `h${t}-${i}`, embedding: near(t, rng) });
  const candidates = [0, 1, 2].map((t) => candidate(`c${t}`, near(t, rng)));
  return { history, candidates };
}

function input(over: Partial<AssociateInput> = {}): AssociateInput {
  const w = world(1);
  return { tenantId: 't1', userId: 'u1', candidates: w.candidates, history: w.history, model: null, seed: 5, ...over };
}

function checkLinks(t: { true(v: boolean, m?: string): void }, out: AssociateOutput, minWeight: number, maxLinks: number): void {
  for (const a of out.assignments) {
    t.true(a.links.length <= maxLinks, 'at most maxLinks');
    t.true(a.links.every((l) => l.memoryId !== a.id), 'never linked to itself');
    t.true(a.links.every((l) => l.weight >= minWeight && Number.isFinite(l.weight)), 'above the threshold');
    for (let i = 1; i < a.links.length; i++) t.true((a.links[i - 1]?.weight as number) >= (a.links[i]?.weight as number), 'sorted');
  }
}

test('PCA keeps at most d and n-1 dimensions and preserves distances at full rank', (t) => {
  const rng = seededRng(3);
  // Gram path: 5 points in 10-D, 4 dimensions keep every pairwise distance.
  const few = Array.from({ length: 5 }, () => Array.from({ length: 10 }, () => gauss(rng)));
  const p1 = fitPca(few, 16);
  t.is(p1.components.length, 4);
  // Scatter path: 50 points in 3-D.
  const many = Array.from({ length: 50 }, () => [gauss(rng) * 5, gauss(rng), gauss(rng) * 0.1]);
  const p2 = fitPca(many, 16);
  t.is(p2.components.length, 3);
  for (const [pts, p] of [
    [few, p1],
    [many, p2],
  ] as const) {
    const proj = pts.map((x) => project(p, x));
    for (let i = 0; i < 4; i++) {
      const d0 = Math.hypot(...(pts[i] as number[]).map((v, k) => v - ((pts[i + 1] as number[])[k] as number)));
      const d1 = Math.hypot(...(proj[i] as number[]).map((v, k) => v - ((proj[i + 1] as number[])[k] as number)));
      t.true(Math.abs(d0 - d1) < 1e-8);
    }
    // Orthonormal components, variance strongest first.
    p.components.forEach((a, i) =>
      p.components.forEach((b, j) => t.true(Math.abs(a.reduce((s, v, k) => s + v * (b[k] as number), 0) - (i === j ? 1 : 0)) < 1e-8)),
    );
    for (let i = 1; i < p.explainedVariance.length; i++) t.true((p.explainedVariance[i - 1] as number) >= (p.explainedVariance[i] as number));
  }
  t.true(Math.abs(Math.abs(p2.components[0]?.[0] as number) - 1) < 0.01, 'first axis is the high-variance one');
  t.is(fitPca(many, 2).components.length, 2);
  t.deepEqual(parsePcaProjection(JSON.parse(JSON.stringify(p2))), p2);
});

test('PCA of one point or identical points keeps one finite axis', (t) => {
  for (const pts of [[[1, 2, 3]], Array.from({ length: 6 }, () => [4, 4, 4])]) {
    const p = fitPca(pts, 16);
    t.is(p.components.length, 1);
    t.true(Math.abs(project(p, pts[0] as number[])[0] as number) < 1e-12);
    t.true(project(p, [9, 9, 9]).every(Number.isFinite));
  }
  t.throws(() => fitPca([], 4), { instanceOf: ValidationError });
});

test('no model and too few points: no clusters, plain cosine links', (t) => {
  const w = world(2, 2);
  const out = associate(input({ history: w.history, candidates: [w.candidates[0] as EmbeddedCandidate] }));
  t.is(out.fitted, null);
  const a = out.assignments[0];
  t.is(a?.id, 'c0');
  t.deepEqual(a?.clusters, []);
  // Only the same-topic memories pass the cosine threshold, each weighted by its cosine.
  t.deepEqual(a?.links.map((l) => l.memoryId).sort(), ['h0-0', 'h0-1']);
  for (const l of a?.links ?? []) {
    const h = w.history.find((x) => x.id === l.memoryId);
    t.is(l.weight, cosine((w.candidates[0] as EmbeddedCandidate).embedding, h?.embedding ?? []));
  }
  checkLinks(t, out, 0.5, 5);
  const strict = associate(input({ history: w.history, candidates: [w.candidates[0] as EmbeddedCandidate] }), { minSimilarity: 0.99 });
  t.deepEqual(strict.assignments[0]?.links, []);
});

test('no model and enough points: fits a mixture over 512-d embeddings and links within the topic', (t) => {
  const inp = input();
  const out = associate(inp);
  const f = out.fitted;
  if (!f) return t.fail('expected a fit');
  t.is(f.memoryCount, 63);
  t.is(f.components, 3);
  t.true(f.dimensions >= 1 && f.dimensions <= 16);
  t.true(Number.isFinite(f.bic) && Number.isFinite(f.logLikelihood));
  t.is(f.modelId, clusterModelIdOf('t1', 'u1', 63, f.parameters));
  const params = parseClusterParameters(f.parameters);
  t.is(params.gmm.weights.length, 3);
  t.is(params.pca.mean.length, DIM);
  t.is(out.assignments.length, 3);
  out.assignments.forEach((a, topic) => {
    t.is(a.id, `c${topic}`);
    t.true(a.clusters.length >= 1);
    t.true(a.clusters.every((c) => c.weight >= 0.1 && c.weight <= 1 + 1e-12));
    t.true(a.clusters.reduce((s, c) => s + c.weight, 0) <= 1 + 1e-9);
    t.is(a.links.length, 5);
    t.true(a.links.every((l) => l.memoryId.startsWith(`h${topic}-`)), `topic ${topic} links stay in the topic`);
  });
  checkLinks(t, out, 0.2, 5);
  // Candidates of different topics fall in different components.
  t.is(new Set(out.assignments.map((a) => a.clusters[0]?.component)).size, 3);
});

test('association is deterministic for the same inputs and seed', (t) => {
  const a = associate(input());
  const b = associate(input());
  t.deepEqual(a, b);
  const other = associate(input({ userId: 'u2' }));
  t.not(other.fitted?.modelId, a.fitted?.modelId);
  t.is(other.fitted?.parameters, a.fitted?.parameters);
});

test('refit policy: reuse the model until the count grows by refitGrowth', (t) => {
  const first = associate(input());
  const f = first.fitted;
  if (!f) return t.fail('expected a fit');
  const model = { modelId: f.modelId, parameters: f.parameters, memoryCount: f.memoryCount };
  const w = world(3, 21); // 63 history + 3 candidates = 66 < 63 × 1.5
  const reused = associate(input({ ...w, model }));
  t.is(reused.fitted, null);
  t.true(reused.assignments.every((a) => a.clusters.length >= 1));
  checkLinks(t, reused, 0.2, 5);
  // Same count as the stored model, reused: the candidate's components follow the stored model.
  const again = associate(input({ model }));
  t.is(again.fitted, null);
  t.deepEqual(again.assignments, first.assignments);

  const grown = world(4, 31); // 93 + 3 = 96 >= 94.5
  const refit = associate(input({ ...grown, model }));
  t.is(refit.fitted?.memoryCount, 96);
  t.not(refit.fitted?.modelId, f.modelId);

  t.is(associate(input({ ...w, model }), { refitGrowth: 0 }).fitted?.memoryCount, 66);
  t.is(associate(input({ model: { ...model, parameters: 'not json' } })).fitted?.memoryCount, 63, 'unreadable model is refitted');
  const tiny = world(5, 1);
  const unreadableFew = associate(input({ ...tiny, model: { ...model, parameters: '{}' } }));
  t.is(unreadableFew.fitted, null, 'unreadable model and too few points: cosine fallback');
  t.true(unreadableFew.assignments.every((a) => a.clusters.length === 0));
});

test('links never include the candidate itself and respect the thresholds', (t) => {
  const base = input();
  // A replay: the candidate is already in history under its own id.
  const replay = { ...base, history: [...base.history, { id: 'c0', embedding: [...(base.candidates[0] as EmbeddedCandidate).embedding] }] };
  const out = associate(replay);
  t.is(out.fitted?.memoryCount, 63, 'a candidate already in history counts once');
  checkLinks(t, out, 0.2, 5);
  const few = associate(replay, { maxLinks: 2, minLinkWeight: 0.3 });
  checkLinks(t, few, 0.3, 2);
  t.true(few.assignments.every((a) => a.links.length === 2));
  const none = associate(replay, { minLinkWeight: 0.999 });
  t.true(none.assignments.every((a) => a.links.length === 0));
  const zero = associate(replay, { maxLinks: 0 });
  t.true(zero.assignments.every((a) => a.links.length === 0));
});

test('validation and edge cases', (t) => {
  t.deepEqual(associate(input({ candidates: [] })), { fitted: null, assignments: [] });
  const bad = input();
  bad.candidates = [bad.candidates[0] as EmbeddedCandidate, candidate('x', [1, 2, 3])];
  t.throws(() => associate(bad), { instanceOf: ValidationError, message: /dimensions/ });
  t.throws(() => associate(input(), { kMax: 0 }), { instanceOf: ValidationError });
  // History from another embedding model (other dimension) is ignored, not fatal.
  const mixed = input();
  mixed.history = [...mixed.history, { id: 'old', embedding: [1, 0, 0] }];
  const out = associate(mixed);
  t.is(out.fitted?.memoryCount, 63);
  t.true(out.assignments.every((a) => a.links.every((l) => l.memoryId !== 'old')));
  // Exactly minPoints (fewer points than PCA dimensions): a finite fit.
  const w = world(6, 3);
  const small = associate(input({ history: w.history.slice(0, 7), candidates: [w.candidates[0] as EmbeddedCandidate] }));
  t.is(small.fitted?.memoryCount, 8);
  t.true((small.fitted?.dimensions as number) <= 7);
  t.true(Number.isFinite(small.fitted?.bic) && Number.isFinite(small.fitted?.logLikelihood));
  t.true(small.assignments.every((a) => a.clusters.every((c) => Number.isFinite(c.weight))));
  checkLinks(t, small, 0.2, 5);
});

test('a first batch with no history fits on its own candidates and assigns them', (t) => {
  const rng = seededRng(5);
  const candidates = [0, 1, 2].flatMap((topic) => Array.from({ length: 4 }, (_, i) => candidate(`c${topic}-${i}`, near(topic, rng))));
  const out = associate({ tenantId: 't1', userId: 'u1', candidates, history: [], model: null, seed: 3 });
  t.truthy(out.fitted);
  t.is(out.assignments.length, candidates.length);
  t.true(out.assignments.every((a) => a.clusters.length >= 1 && a.links.length === 0));
});

/**
 * Drift fixtures: the model fitted by input() (63 memories), the same 63 memories as history, and
 * 4 fresh candidates, so the count (67) stays below the growth trigger (63 × 1.5).
 */
function driftSetup(): { model: NonNullable<AssociateInput['model']>; history: AssociateInput['history']; baseFit: NonNullable<AssociateOutput['fitted']> } {
  const base = input();
  const fitted = associate(base).fitted;
  if (!fitted) throw new Error('fixture: expected a fit');
  const history = [...base.history, ...base.candidates.map((c) => ({ id: c.id, embedding: [...c.embedding] }))];
  return { model: { modelId: fitted.modelId, parameters: fitted.parameters, memoryCount: fitted.memoryCount }, history, baseFit: fitted };
}

function farCandidates(n = 4): EmbeddedCandidate[] {
  const rng = seededRng(31);
  return Array.from({ length: n }, (_, i) => candidate(`far-${i}`, around(FAR_TOPIC, rng)));
}

function meanLl(parameters: string, embeddings: readonly (readonly number[])[]): number {
  const { pca, gmm } = parseClusterParameters(parameters);
  return logLikelihood(gmm, embeddings.map((e) => project(pca, e))) / embeddings.length;
}

test('a fit stores the mean per-point log-likelihood of its training points', (t) => {
  const { baseFit } = driftSetup();
  const params = parseClusterParameters(baseFit.parameters);
  const mean = params.meanLogLikelihood as number;
  t.true(Number.isFinite(mean));
  t.true(Math.abs(mean - baseFit.logLikelihood / baseFit.memoryCount) < 1e-9 * Math.max(1, Math.abs(mean)));
});

test('drift: candidates from the history\'s own distribution do not refit', (t) => {
  const { model, history } = driftSetup();
  const rng = seededRng(41);
  const candidates = Array.from({ length: 6 }, (_, i) => candidate(`same-${i}`, near(i % 3, rng)));
  const out = associate(input({ history, candidates, model }));
  t.is(out.fitted, null);
  t.true(out.assignments.every((a) => a.clusters.length >= 1 && a.links.length >= 1));
  // Even at tolerance 0 the fresh same-topic points score no worse than the training points did.
  t.is(associate(input({ history, candidates, model }), { driftTolerance: 0 }).fitted, null);
});

test('drift: a far-away new cluster refits without growth, and the new model covers it', (t) => {
  const { model, history, baseFit } = driftSetup();
  const candidates = farCandidates();
  const out = associate(input({ history, candidates, model }));
  const f = out.fitted;
  if (!f) return t.fail('expected a drift refit');
  t.is(f.memoryCount, 67, 'below the growth trigger of 94.5');
  t.not(f.modelId, model.modelId);
  t.is(f.modelId, clusterModelIdOf('t1', 'u1', 67, f.parameters));
  t.true(f.components > baseFit.components, `components ${f.components} > ${baseFit.components}`);
  const emb = candidates.map((c) => c.embedding);
  t.true(meanLl(f.parameters, emb) > meanLl(model.parameters, emb), 'the new model fits the new cluster better');
  t.true(Number.isFinite(parseClusterParameters(f.parameters).meanLogLikelihood));
  // The new cluster is one component of its own.
  const tops = out.assignments.map((a) => a.clusters[0]?.component);
  t.is(new Set(tops).size, 1);
  t.true(out.assignments.every((a) => (a.clusters[0]?.weight as number) > 0.9));
  // Scored again against the refitted model (which was trained on them), the same candidates do not refit.
  const next = { modelId: f.modelId, parameters: f.parameters, memoryCount: f.memoryCount };
  t.is(associate(input({ history, candidates, model: next })).fitted, null);

  // Too few candidates, or a tolerance larger than the drop: the stored model is kept.
  t.is(associate(input({ history, candidates: farCandidates(3), model })).fitted, null);
  t.is(associate(input({ history, candidates, model }), { driftMinCandidates: 5 }).fitted, null);
  t.is(associate(input({ history, candidates, model }), { driftTolerance: 1000 }).fitted, null);
});

test('drift: the refit is deterministic and is the growth path\'s refit', (t) => {
  const { model, history } = driftSetup();
  const inp = input({ history, candidates: farCandidates(), model });
  const a = associate(inp);
  t.truthy(a.fitted);
  t.deepEqual(a, associate(input({ history, candidates: farCandidates(), model })));
  // The same input refitted because growth is due (refitGrowth 0) gives the very same model and assignments.
  t.deepEqual(associate(inp, { refitGrowth: 0 }), a);
});

test('drift: a model recorded without meanLogLikelihood parses and never drift-refits', (t) => {
  const { model, history } = driftSetup();
  const { meanLogLikelihood, ...old } = JSON.parse(model.parameters) as Record<string, unknown>;
  t.is(typeof meanLogLikelihood, 'number');
  const oldParameters = JSON.stringify(old);
  const parsed = parseClusterParameters(oldParameters);
  t.is(parsed.meanLogLikelihood, undefined);
  t.false('meanLogLikelihood' in parsed);
  const current = parseClusterParameters(model.parameters);
  t.deepEqual(parsed, { pca: current.pca, gmm: current.gmm });
  const out = associate(input({ history, candidates: farCandidates(), model: { ...model, parameters: oldParameters } }), { driftTolerance: 0 });
  t.is(out.fitted, null);
  t.true(out.assignments.every((a) => a.clusters.length >= 1));
  // A present but unusable baseline is a corrupt model: rejected by the parser, so associate refits it.
  for (const bad of ['x', null, [1]]) {
    const params = JSON.stringify({ ...old, meanLogLikelihood: bad });
    t.throws(() => parseClusterParameters(params), { instanceOf: ValidationError, message: /meanLogLikelihood/ });
    t.is(associate(input({ history, candidates: farCandidates(3), model: { ...model, parameters: params } })).fitted?.memoryCount, 66);
  }
});

test('drift options are validated', (t) => {
  const inp = input({ candidates: [] });
  for (const driftMinCandidates of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => associate(inp, { driftMinCandidates }), { instanceOf: ValidationError, message: /driftMinCandidates/ });
  }
  for (const driftTolerance of [-0.1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    t.throws(() => associate(inp, { driftTolerance }), { instanceOf: ValidationError, message: /driftTolerance/ });
  }
  t.notThrows(() => associate(inp, { driftMinCandidates: 1, driftTolerance: 0 }));
});
