/**
 * Per-app sequence rules (docs/PROTOCOL.md "Sequence numbers"). Pure: the
 * caller supplies what the store knows about the seq.
 *
 *  - seq above the high-water mark: new; any skipped seqs become a recorded gap.
 *  - seq at or below it and stored with the same payload: a re-send after a
 *    reconnect. Acked again, stored once.
 *  - stored with a different payload: a conflict (never stored).
 *  - not stored but inside a recorded gap: a late fill, stored.
 *  - anything else: a regression (never stored).
 */
export type SeqVerdict =
  | { kind: 'new'; gap?: { from: number; to: number } }
  | { kind: 'duplicate' }
  | { kind: 'fill' }
  | { kind: 'conflict' }
  | { kind: 'regressed' };

export interface SeqFacts {
  /** Canonical payload text of the stored message with this seq, if any. */
  stored?: string;
  inGap: boolean;
}

export function judgeSeq(seq: number, highWater: number, payload: string, facts: () => SeqFacts): SeqVerdict {
  if (seq > highWater) {
    return seq > highWater + 1 ? { kind: 'new', gap: { from: highWater + 1, to: seq - 1 } } : { kind: 'new' };
  }
  const f = facts();
  if (f.stored !== undefined) return f.stored === payload ? { kind: 'duplicate' } : { kind: 'conflict' };
  return f.inGap ? { kind: 'fill' } : { kind: 'regressed' };
}

/** The gaps left after `seq` arrived late: the gap holding it shrinks or splits in two. */
export function splitGaps(gaps: ReadonlyArray<{ from: number; to: number }>, seq: number): Array<{ from: number; to: number }> {
  return gaps.flatMap((g) => {
    if (seq < g.from || seq > g.to) return [g];
    return [
      { from: g.from, to: seq - 1 },
      { from: seq + 1, to: g.to },
    ].filter((p) => p.from <= p.to);
  });
}
