/**
 * Retrieval evaluation (reference 1.6, the paper's Eq. 1): Acc@k = #{queries whose correct image is in the top k} / N,
 * with EXACT id matching. The reference's `EvalMatches.m` used substring matching (`contains`), which counts 1B_B1
 * as correct for the query 1B_B10; `substringRank` reproduces that bug for comparison only.
 */

/** 1-based rank of `truthId` in `ranked` by exact equality, 0 if absent. */
export function rankOf(ranked: readonly string[], truthId: string): number {
  const i = ranked.indexOf(truthId);
  return i < 0 ? 0 : i + 1;
}

/** The reference's rule (buggy): first j with queryName containing ranked[j]; 0 if none. For comparison only. */
export function substringRank(ranked: readonly string[], queryName: string): number {
  const i = ranked.findIndex((m) => queryName.includes(m));
  return i < 0 ? 0 : i + 1;
}

/** Acc@k: fraction of ranks in 1..k (rank 0 = not found); N = ranks.length. */
export function accuracyAtK(ranks: readonly number[], k: number): number {
  if (ranks.length === 0) return 0;
  return ranks.filter((r) => r >= 1 && r <= k).length / ranks.length;
}

/** Two-sided z for 95 % (normal quantile 0.975). */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for a binomial proportion (Wilson 1927): centre (p + z^2/2n)/(1 + z^2/n),
 * half-width z sqrt(p(1-p)/n + z^2/4n^2)/(1 + z^2/n).
 */
export function wilsonInterval(successes: number, n: number, z = Z95): { estimate: number; lower: number; upper: number } {
  if (n <= 0) return { estimate: 0, lower: 0, upper: 1 };
  const p = successes / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Acc@k with Wilson 95 % intervals for several k (default 1, 5, 10, 15 as the paper's tables). */
export function accuracyTable(ranks: readonly number[], ks: readonly number[] = [1, 5, 10, 15]): { k: number; successes: number; n: number; accuracy: number; lower: number; upper: number }[] {
  return ks.map((k) => {
    const successes = ranks.filter((r) => r >= 1 && r <= k).length;
    const w = wilsonInterval(successes, ranks.length);
    return { k, successes, n: ranks.length, accuracy: w.estimate, lower: w.lower, upper: w.upper };
  });
}
