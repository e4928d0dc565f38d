import test from 'ava';
import {
  DEFAULT_FORGETTING,
  effectiveStrength,
  initialStrength,
  planDecay,
  reinforcedStrength,
  retention,
  type DecayInput,
} from '../../activities/forget/retention.js';

const DAY = 24 * 60 * 60 * 1000;

test('retention follows exp(-t/S): 1 when fresh, 1/e after S days, half at the half-life', (t) => {
  t.is(retention(10, 0, 0), 1);
  t.true(Math.abs(retention(10, 0, 10 * DAY) - Math.exp(-1)) < 1e-12);
  // A memory of importance 0.5 loses half its retention in halfLifeDays.
  const s = initialStrength(0.5);
  t.true(Math.abs(retention(s, 0, DEFAULT_FORGETTING.halfLifeDays * DAY) - 0.5) < 1e-4);
  // A clock behind the last touch does not make retention exceed 1.
  t.is(retention(10, 5 * DAY, 0), 1);
});

test('importance sets the starting strength; reinforcement multiplies it up to the cap', (t) => {
  t.true(initialStrength(1) > initialStrength(0.5));
  t.true(initialStrength(0.5) > initialStrength(0));
  t.is(initialStrength(Number.NaN), initialStrength(0.5));
  t.is(initialStrength(7), initialStrength(1));
  t.is(reinforcedStrength(10), 15);
  t.is(reinforcedStrength(3000), DEFAULT_FORGETTING.maxStrengthDays);
  t.is(effectiveStrength(10, 2), 22.5);
  t.is(effectiveStrength(10, 0), 10);
  t.is(effectiveStrength(10, 100), DEFAULT_FORGETTING.maxStrengthDays);
});

const mem = (id: string, over: Partial<DecayInput> = {}): DecayInput => ({
  id,
  kind: 'fact',
  version: 1,
  strength: initialStrength(0.5),
  accesses: 0,
  lastTouchedAt: 0,
  ...over,
});

test('the pass archives exactly the memories below the floor, in id order, with their figures', (t) => {
  const now = 200 * DAY;
  const out = planDecay(
    [
      mem('b-old'),
      mem('a-old-important', { strength: initialStrength(1) }),
      mem('c-recent', { lastTouchedAt: now - 5 * DAY }),
      mem('d-recalled', { accesses: 6 }),
      mem('e-lesson', { kind: 'lesson' }),
    ],
    now,
  );
  // 200 days at S=43.3 → R≈0.01 (archived); S=64.9 → R≈0.046 (archived); 6 recalls → S≈493, R≈0.67.
  t.deepEqual(
    out.map((d) => d.id),
    ['a-old-important', 'b-old'],
  );
  const b = out.find((d) => d.id === 'b-old');
  t.truthy(b);
  t.true((b?.retention ?? 1) < DEFAULT_FORGETTING.floor);
  t.regex(b?.reason ?? '', /below floor 0\.05 after 200\.0 days/);
  // Deterministic for a given clock; a lower floor archives less.
  t.deepEqual(planDecay([mem('b-old'), mem('a-old-important', { strength: initialStrength(1) })], now), out);
  t.deepEqual(
    planDecay([mem('b-old')], now, { ...DEFAULT_FORGETTING, floor: 0.001 }).map((d) => d.id),
    [],
  );
});
