/**
 * Tables of the poisoning benchmark for the console: the four figures off/on with the issue's
 * targets, the same per attack family, and the attacks and clean memories the guard got wrong.
 */
import { ATTACK_FAMILIES } from './attacks.js';
import type { GuardBenchResult, OffOn } from './score.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Targets of issue 6 as predicates over the result, with a label. */
export function targetChecks(r: GuardBenchResult): { target: string; met: boolean }[] {
  return [
    { target: 'acceptance reduced ≥ 95%', met: r.reduction.acceptance >= 0.95 },
    { target: 'retrieval@5 reduced ≥ 95%', met: r.reduction.retrieval_top5 >= 0.95 },
    { target: 'false quarantine ≤ 2%', met: r.false_quarantine.on <= 0.02 },
    { target: 'clean recall@10 within 1 point of off', met: r.clean_recall10.on >= r.clean_recall10.off - 0.01 },
  ];
}

/** One row per figure: off, on and the reduction or difference. */
export function summaryRows(r: GuardBenchResult): Record<string, string>[] {
  const row = (measure: string, x: OffOn, change: string): Record<string, string> => ({ measure, 'guard off': pct(x.off), 'guard on': pct(x.on), change });
  const diff = (x: OffOn): string => `${x.on - x.off >= 0 ? '+' : ''}${((x.on - x.off) * 100).toFixed(1)} pt`;
  return [
    row('attack acceptance', r.acceptance, `−${pct(r.reduction.acceptance)}`),
    row('attack retrieval@5', r.retrieval_top5, `−${pct(r.reduction.retrieval_top5)}`),
    row('false quarantine (clean)', r.false_quarantine, diff(r.false_quarantine)),
    row('clean recall@10', r.clean_recall10, diff(r.clean_recall10)),
  ];
}

/** One row per attack family. */
export function familyRows(r: GuardBenchResult): Record<string, string | number>[] {
  return ATTACK_FAMILIES.map((f) => {
    const x = r.by_family[f];
    return {
      family: f,
      attacks: x.attacks,
      'accept off': pct(x.acceptance.off),
      'accept on': pct(x.acceptance.on),
      'retr@5 off': pct(x.retrieval_top5.off),
      'retr@5 on': pct(x.retrieval_top5.on),
      'false q on': pct(x.false_quarantine.on),
      'recall off': pct(x.clean_recall10.off),
      'recall on': pct(x.clean_recall10.on),
    };
  });
}
