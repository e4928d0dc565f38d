/**
 * The association stage core (DESIGN.md §5, after MemGAS): keeps a per-user Gaussian mixture over
 * PCA-reduced memory embeddings, refitting it when there is none, the memory count has grown
 * enough, or the new candidates fit it much worse than its training points did (log-likelihood
 * drift), then gives each candidate its posterior responsibilities and links it to historical
 * memories of the same components. Pure: the caller supplies history, the latest model and a seed.
 */
import { ValidationError } from '../../core/errors.js';
import { derivedEventIdOf, sha256Hex } from '../../core/ids.js';
import type { AssociationLink, ClusterWeight } from '../../core/model.js';
import type { EmbeddedCandidate } from '../../core/pipeline.js';
import { cosine } from '../../core/text.js';
import { logLikelihood, parseGmmModel, posteriors, selectGmm } from './gmm.js';
import type { CovarianceType, GmmModel } from './gmm.js';
import { fitPca, parsePcaProjection, project } from './pca.js';
import type { PcaProjection } from './pca.js';

export interface AssociateInput {
  tenantId: string;
  userId: string;
  candidates: EmbeddedCandidate[];
  /** The user's active memories (bounded by the caller). */
  history: { id: string; embedding: number[] }[];
  /** The latest ClusterModelFitted for this user, if any. */
  model: { modelId: string; parameters: string; memoryCount: number } | null;
  seed: number;
}

export interface AssociateOutput {
  /** Set when this call refitted the model: the caller records it as ClusterModelFitted. */
  fitted: {
    modelId: string;
    components: number;
    dimensions: number;
    memoryCount: number;
    bic: number;
    logLikelihood: number;
    parameters: string;
  } | null;
  /** One per candidate, in input order. */
  assignments: { id: string; clusters: ClusterWeight[]; links: AssociationLink[] }[];
}

export interface AssociateOptions {
  /** Fewest memories (history + candidates) worth fitting a mixture to. */
  minPoints: number;
  /** Refit once the count has grown by this fraction since the model's memoryCount. */
  refitGrowth: number;
  /** Fewest candidates in one call for their log-likelihood to be trusted as a drift signal. */
  driftMinCandidates: number;
  /** Fewest memories a model must have been fitted on before drift counts (small fits overfit, and growth refits them anyway). */
  driftMinMemories: number;
  /**
   * Refit when the candidates' mean per-point log-likelihood falls below the model's training mean
   * by more than this many nats per point per PCA dimension (the threshold is this × dimensions).
   */
  driftTolerance: number;
  /** PCA output dimensions (also capped at n-1). */
  pcaDims: number;
  kMin: number;
  kMax: number;
  restarts: number;
  maxIter: number;
  tol: number;
  covariance: CovarianceType;
  /** Components below this responsibility are not listed in a candidate's clusters. */
  minResponsibility: number;
  maxLinks: number;
  /** Links weighted responsibility × cosine below this are dropped. */
  minLinkWeight: number;
  /** Without a model: plain cosine links below this are dropped. */
  minSimilarity: number;
}

export const defaultAssociateOptions: Readonly<AssociateOptions> = Object.freeze({
  minPoints: 8,
  refitGrowth: 0.5,
  driftMinCandidates: 4,
  driftMinMemories: 32,
  // Points of a fitted d-dim Gaussian score d/2 ± sqrt(d/2) below its peak, so a further d-nat drop is not noise; a new topic drops by hundreds.
  driftTolerance: 1,
  pcaDims: 16,
  kMin: 1,
  kMax: 8,
  restarts: 3,
  maxIter: 100,
  tol: 1e-4,
  covariance: 'diagonal',
  minResponsibility: 0.1,
  maxLinks: 5,
  minLinkWeight: 0.2,
  minSimilarity: 0.5,
});

/** What is stored in ClusterModelFitted.parameters. */
export interface ClusterParameters {
  readonly pca: PcaProjection;
  readonly gmm: GmmModel;
  /**
   * Mean per-point log-likelihood of the training points (projected) under `gmm`: the baseline for
   * drift. Absent in models recorded before drift detection; those never drift-refit.
   */
  readonly meanLogLikelihood?: number;
}

/** Parse and check ClusterModelFitted.parameters (throws ValidationError when unusable). */
export function parseClusterParameters(parameters: string): ClusterParameters {
  let raw: unknown;
  try {
    raw = JSON.parse(parameters);
  } catch {
    throw new ValidationError('cluster model parameters are not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new ValidationError('cluster model parameters are not an object');
  const r = raw as Record<string, unknown>;
  const pca = parsePcaProjection(r.pca);
  const gmm = parseGmmModel(r.gmm);
  if ((gmm.means[0] as number[]).length !== pca.components.length) {
    throw new ValidationError('cluster model parameters: PCA and mixture dimensions differ');
  }
  const mll = r.meanLogLikelihood;
  if (mll === undefined) return { pca, gmm };
  if (typeof mll !== 'number' || !Number.isFinite(mll)) {
    throw new ValidationError('cluster model parameters: meanLogLikelihood must be a finite number');
  }
  return { pca, gmm, meanLogLikelihood: mll };
}

/** Deterministic id of a fitted model: the user, the count it was fitted on and its parameters. */
export function clusterModelIdOf(tenantId: string, userId: string, memoryCount: number, parameters: string): string {
  return derivedEventIdOf('cluster-model', tenantId, userId, String(memoryCount), sha256Hex(parameters));
}

function resolveOptions(partial: Partial<AssociateOptions> | undefined): AssociateOptions {
  const o = { ...defaultAssociateOptions, ...(partial ?? {}) };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new ValidationError(`associate option ${what}`);
  };
  const int = (v: number): boolean => Number.isInteger(v) && v >= 1;
  const frac = (v: number): boolean => Number.isFinite(v) && v >= 0;
  check(int(o.minPoints), 'minPoints must be a positive integer');
  check(frac(o.refitGrowth), 'refitGrowth must be a finite non-negative number');
  check(int(o.driftMinCandidates), 'driftMinCandidates must be a positive integer');
  check(int(o.driftMinMemories), 'driftMinMemories must be a positive integer');
  check(frac(o.driftTolerance), 'driftTolerance must be a finite non-negative number');
  check(int(o.pcaDims), 'pcaDims must be a positive integer');
  check(int(o.kMin) && int(o.kMax) && o.kMax >= o.kMin, 'kMin/kMax must be positive integers with kMin <= kMax');
  check(int(o.restarts) && int(o.maxIter), 'restarts and maxIter must be positive integers');
  check(frac(o.tol), 'tol must be a finite non-negative number');
  check(Number.isInteger(o.maxLinks) && o.maxLinks >= 0, 'maxLinks must be a non-negative integer');
  check(Number.isFinite(o.minResponsibility) && Number.isFinite(o.minLinkWeight) && Number.isFinite(o.minSimilarity), 'thresholds must be finite');
  return o;
}

function checkVector(v: readonly number[], dim: number, what: string): void {
  if (!Array.isArray(v) || v.length === 0 || v.length !== dim || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new ValidationError(`${what} must be a finite vector of ${dim} dimensions`);
  }
}

/** Sort by weight (descending), then id, so equal weights still give one order. */
function byWeightThenId(a: AssociationLink, b: AssociationLink): number {
  return b.weight - a.weight || (a.memoryId < b.memoryId ? -1 : a.memoryId > b.memoryId ? 1 : 0);
}

/** Links by plain cosine similarity, for users with too few memories to cluster. */
function cosineLinks(
  embedding: readonly number[],
  selfId: string,
  history: readonly { id: string; embedding: number[] }[],
  opts: AssociateOptions,
): AssociationLink[] {
  const links: AssociationLink[] = [];
  for (const h of history) {
    if (h.id === selfId) continue;
    const w = cosine(embedding, h.embedding);
    if (w >= opts.minSimilarity) links.push({ memoryId: h.id, weight: w });
  }
  return links.sort(byWeightThenId).slice(0, opts.maxLinks);
}

function argmax(v: readonly number[]): number {
  let best = 0;
  for (let j = 1; j < v.length; j++) if ((v[j] as number) > (v[best] as number)) best = j;
  return best;
}

/** Assign responsibilities and component links to each candidate, refitting the user's mixture when due. */
export function associate(input: AssociateInput, opts?: Partial<AssociateOptions>): AssociateOutput {
  const o = resolveOptions(opts);
  if (!input.tenantId || !input.userId) throw new ValidationError('associate needs a tenantId and a userId');
  if (typeof input.seed !== 'number' || !Number.isFinite(input.seed)) throw new ValidationError('associate needs a finite seed');
  const candidates = input.candidates;
  if (candidates.length === 0) return { fitted: null, assignments: [] };

  const dim = (candidates[0] as EmbeddedCandidate).embedding.length;
  for (const c of candidates) checkVector(c.embedding, dim, `embedding of candidate ${c.id}`);
  const candidateIds = new Set(candidates.map((c) => c.id));
  // History of another dimension (an older embedding model) cannot be compared: leave it out. A
  // candidate already in history (a replay) is counted once, as the candidate.
  const history = input.history.filter(
    (h) => !candidateIds.has(h.id) && Array.isArray(h.embedding) && h.embedding.length === dim && h.embedding.every(Number.isFinite),
  );
  const count = history.length + candidateIds.size;

  // A stored model that cannot be read, or was fitted on another embedding size, is treated as absent.
  let current: ClusterParameters | null = null;
  if (input.model) {
    try {
      const parsed = parseClusterParameters(input.model.parameters);
      if (parsed.pca.mean.length === dim) current = parsed;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
    }
  }
  const grown = current === null || count >= (input.model?.memoryCount ?? 0) * (1 + o.refitGrowth);
  const driftable = (input.model?.memoryCount ?? 0) >= o.driftMinMemories;
  const due = count >= o.minPoints && (grown || (current !== null && driftable && drifted(current, candidates, o)));

  let fitted: AssociateOutput['fitted'] = null;
  if (due) {
    const all = [...history.map((h) => h.embedding), ...uniqueCandidates(candidates).map((c) => c.embedding)];
    const pca = fitPca(all, o.pcaDims);
    const projected = all.map((x) => project(pca, x));
    const selection = selectGmm(projected, {
      kMin: o.kMin,
      kMax: o.kMax,
      seed: input.seed,
      restarts: o.restarts,
      maxIter: o.maxIter,
      tol: o.tol,
      covariance: o.covariance,
    });
    // The fit's own scoring of its training points; JSON cannot hold a non-finite baseline, so none then.
    const mean = logLikelihood(selection.model, projected) / projected.length;
    const parameters = JSON.stringify({
      pca,
      gmm: selection.model,
      ...(Number.isFinite(mean) ? { meanLogLikelihood: mean } : {}),
    } satisfies ClusterParameters);
    // Assign with the parameters as stored, so a rebuild that reads them back gets the same result.
    current = parseClusterParameters(parameters);
    fitted = {
      modelId: clusterModelIdOf(input.tenantId, input.userId, count, parameters),
      components: selection.k,
      dimensions: pca.components.length,
      memoryCount: count,
      bic: selection.bic,
      logLikelihood: selection.logLikelihood,
      parameters,
    };
  }

  if (current === null) {
    return {
      fitted: null,
      assignments: candidates.map((c) => ({ id: c.id, clusters: [], links: cosineLinks(c.embedding, c.id, history, o) })),
    };
  }

  const { pca, gmm } = current;
  // A first batch can fit on its own candidates alone: there is no history to score then.
  const historyResp =
    history.length === 0
      ? []
      : posteriors(
          gmm,
          history.map((h) => project(pca, h.embedding)),
        );
  const dominant = historyResp.map(argmax);
  const candidateResp = posteriors(
    gmm,
    candidates.map((c) => project(pca, c.embedding)),
  );
  const assignments = candidates.map((c, i) => {
    const resp = candidateResp[i] as number[];
    const top = argmax(resp);
    // The dominant component is always kept, even if a large k spreads every weight below the threshold.
    const clusters: ClusterWeight[] = resp
      .map((weight, component) => ({ component, weight }))
      .filter((w) => w.weight >= o.minResponsibility || w.component === top)
      .sort((a, b) => b.weight - a.weight || a.component - b.component);
    const mine = new Map(clusters.map((w) => [w.component, w.weight]));
    const links: AssociationLink[] = [];
    history.forEach((h, hi) => {
      const r = mine.get(dominant[hi] as number);
      if (r === undefined || h.id === c.id) return;
      const weight = r * cosine(c.embedding, h.embedding);
      if (weight >= o.minLinkWeight) links.push({ memoryId: h.id, weight });
    });
    return { id: c.id, clusters, links: links.sort(byWeightThenId).slice(0, o.maxLinks) };
  });
  return { fitted, assignments };
}

/**
 * Whether enough candidates fit the model worse than its training points did, by more than the
 * tolerance per point: they come from somewhere the mixture does not cover, so it should be refitted.
 */
function drifted(model: ClusterParameters, candidates: readonly EmbeddedCandidate[], o: AssociateOptions): boolean {
  if (model.meanLogLikelihood === undefined) return false;
  const unique = uniqueCandidates(candidates);
  if (unique.length < o.driftMinCandidates) return false;
  const points = unique.map((c) => project(model.pca, c.embedding));
  const mean = logLikelihood(model.gmm, points) / points.length;
  return mean < model.meanLogLikelihood - o.driftTolerance * model.pca.components.length;
}

/** Candidates with duplicate ids (should not happen) count once in the fit. */
function uniqueCandidates(candidates: readonly EmbeddedCandidate[]): EmbeddedCandidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)));
}
