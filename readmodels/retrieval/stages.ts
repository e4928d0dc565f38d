/**
 * The stages of retrieval, each of which a search can switch off (for ablations and diagnosis).
 */

/** Every stage a search may disable, in pipeline order. */
export const RETRIEVAL_STAGES = [
  /** Dense (cosine) retrieval per granularity. */
  'dense',
  /** Keyword (BM25) retrieval per granularity. */
  'bm25',
  /** Entropy router: weights each granularity by how peaked its relevance distribution is. */
  'router',
  /** Personalised PageRank over association, entity and conversation edges from the top hits. */
  'expansion',
  /** Recency and strength (retention) weighting. */
  'recency',
  /** Memories by or about a name in the query rank higher. */
  'names',
  /** Dates in the query as a time boost. */
  'dates',
  /** A user with few memories gets all of them ranked exhaustively. */
  'small_history',
  /** Results that cite only turns already cited above them move down. */
  'diversify',
] as const;

export type RetrievalStage = (typeof RETRIEVAL_STAGES)[number];

/** Whether `stage` runs under a `disable` list. */
export function enabled(disable: readonly RetrievalStage[] | undefined, stage: RetrievalStage): boolean {
  return !(disable ?? []).includes(stage);
}
