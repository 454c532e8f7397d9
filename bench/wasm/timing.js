// Timing: warm-up, then several rounds of a calibrated size; the median round gives ns per operation.
// Things compared with each other are timed together, their rounds interleaved, so that a busy machine slows
// them alike and their ratios hold even when the absolute numbers move.

const clock = () => performance.now();

/** Keeps results alive so that no engine can drop the work that produced them. */
export let sink = 0;

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times each `cases[name] = { body, opsPerRep }`, where `body(reps)` runs `reps` repetitions of `opsPerRep`
 * operations and returns a number computed from their results. Each case warms up for `warmupMs`, which also
 * calibrates `reps` so that one of its rounds takes about `roundMs`; then `rounds` rounds are timed, taking
 * the cases in turn (in a rotating order). Returns, per case, the median, lowest and highest ns per operation.
 */
export function measureTogether(cases, { warmupMs = 250, roundMs = 60, rounds = 9 } = {}) {
  const names = Object.keys(cases);
  const reps = {};
  for (const name of names) {
    const { body } = cases[name];
    let n = 1;
    let last = 0;
    const start = clock();
    for (;;) {
      const t = clock();
      sink += body(n);
      last = clock() - t;
      if (last < roundMs / 8) n *= 2;
      else if (clock() - start >= warmupMs) break;
    }
    reps[name] = Math.max(1, Math.round((n * roundMs) / Math.max(last, 1e-3)));
  }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const { body, opsPerRep = 1 } = cases[name];
      const t = clock();
      sink += body(reps[name]);
      samples[name].push(((clock() - t) * 1e6) / (reps[name] * opsPerRep));
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const s = samples[name];
      return [name, { ns: median(s), min: Math.min(...s), max: Math.max(...s), ops: reps[name] * (cases[name].opsPerRep ?? 1) }];
    }),
  );
}
