/**
 * The outbox of one identity: every message from status()/result()/error()
 * waits here, already numbered and serialised, until the gateway acks it.
 * An entry leaves only on its ack (or when it can never be delivered), so a
 * reconnect re-sends exactly the unacked ones with their original seq and
 * bytes, and the gateway's dedupe makes the re-send harmless.
 *
 * Bounded: when full, the oldest Status goes (a later Status supersedes it);
 * a Result or Error is never dropped, since it is the one message the parent
 * is waiting for.
 *
 * Entries are kept in a Map keyed by seq: insertion order is seq order, and
 * ack/drop are O(1). `cursor` is the highest seq already written to the
 * current socket; entries above it have not been sent on this socket yet.
 */
import type { MsgType } from '../protocol/frames.js';

export interface OutboxEntry {
  readonly seq: number;
  readonly msgType: MsgType;
  /** The frame exactly as it goes on the wire (signed once, re-sent byte for byte). */
  readonly text: string;
}

export class Outbox {
  private readonly entries = new Map<number, OutboxEntry>();
  private cursor = 0;
  private sentCount = 0;
  private lastSeq = 0;

  constructor(readonly capacity: number) {}

  has(seq: number): boolean {
    return this.entries.has(seq);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries written to the current socket and not yet acked. */
  get inFlight(): number {
    return this.sentCount;
  }

  /**
   * Adds an entry (seq must increase). Returns what had to go to make room:
   * the oldest Status, or the new entry itself when it is a Status and the
   * outbox holds nothing droppable.
   */
  push(entry: OutboxEntry): OutboxEntry | undefined {
    let dropped: OutboxEntry | undefined;
    if (this.entries.size >= this.capacity) {
      dropped = this.oldestStatus();
      if (dropped) this.remove(dropped.seq);
      else if (entry.msgType === 'Status') return entry;
    }
    this.entries.set(entry.seq, entry);
    this.lastSeq = entry.seq;
    return dropped;
  }

  /** Removes an acked entry; undefined when it was not here (a late or duplicate ack). */
  ack(seq: number): OutboxEntry | undefined {
    return this.remove(seq);
  }

  /** Whether takeNext() may have something (it can still find only dropped seqs). */
  get hasUnsent(): boolean {
    return this.cursor < this.lastSeq;
  }

  /** The next entry not yet written to this socket, advancing the cursor; undefined when all are. */
  takeNext(): OutboxEntry | undefined {
    while (this.cursor < this.lastSeq) {
      const e = this.entries.get(++this.cursor);
      if (e) {
        this.sentCount++;
        return e;
      }
    }
    return undefined;
  }

  /** A new socket (or frames lost to a rate limit): every entry is unsent again. */
  rewind(): void {
    const first = this.entries.keys().next();
    this.cursor = first.done ? this.lastSeq : first.value - 1;
    this.sentCount = 0;
  }

  /** Empties the outbox; returns what was in it. */
  clear(): OutboxEntry[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.cursor = this.lastSeq;
    this.sentCount = 0;
    return all;
  }

  values(): IterableIterator<OutboxEntry> {
    return this.entries.values();
  }

  private remove(seq: number): OutboxEntry | undefined {
    const e = this.entries.get(seq);
    if (!e) return undefined;
    this.entries.delete(seq);
    if (seq <= this.cursor) this.sentCount--;
    return e;
  }

  private oldestStatus(): OutboxEntry | undefined {
    for (const e of this.entries.values()) if (e.msgType === 'Status') return e;
    return undefined;
  }
}
