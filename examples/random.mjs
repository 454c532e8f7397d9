// The seeded random numbers of the example generators (examples/history/generate.mjs,
// examples/leads/generate-cybersecurity.mjs): xorshift32, small and the same everywhere, so that the same
// arguments give the same file.

/** A function giving numbers in [0, 1) from `seed` (0 counts as 1). */
export function xorshift32(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
