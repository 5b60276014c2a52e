/**
 * The change signal of a run cut into hour ranges: the ranges' counts and digests added up exactly
 * (numeric sums beyond 64 bits), and no signal when a range has none (an extract older than it).
 */
import { describe, expect, it } from 'vitest';
import { combinedSignal } from '../../src/lake/change-signal.js';

describe('combinedSignal', () => {
  it("adds the ranges' counts and digests, beyond 64 bits and below zero", () => {
    // Act
    const signal = combinedSignal([
      { sourceCount: 3, sourceDigest: '18446744073709551615' },
      { sourceCount: 4, sourceDigest: '18446744073709551617' },
      { sourceCount: 0, sourceDigest: '0' },
      { sourceCount: 1, sourceDigest: '-5' },
    ]);

    // Assess
    expect(signal).toEqual({ signal: { rows: 8, digest: '36893488147419103227' } });
  });

  it('records no signal when a range has no digest, or there is no range', () => {
    // Act / Assess
    expect(combinedSignal([{ sourceCount: 3, sourceDigest: '1' }, { sourceCount: 4 }])).toEqual({});
    expect(combinedSignal([])).toEqual({});
  });
});
