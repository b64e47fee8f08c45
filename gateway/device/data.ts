/**
 * Data messages (Status, Result, Error; spec §9). The ack for a seq leaves
 * only after the row holding it is committed; a seq is stored once however
 * often it is re-sent (docs/PROTOCOL.md "Sequence numbers").
 */
import { judgeSeq, splitGaps, type SeqVerdict } from '../core/seq.js';
import { statusAfterMessage } from '../core/lifecycle.js';
import type { MessageFrame } from '../../protocol/frames.js';
import { verifyFrame } from '../crypto/frame-signing.js';
import type { AppStatus, StoreWriter } from '../store/types.js';
import type { DataContext } from './hub-context.js';
import type { ConnState, LiveApp, SignedFrame } from './hub-types.js';
import { SnapshotPruner } from './snapshot-pruner.js';

/** A frame whose commit failed: what it changed in the live app, to be undone (see settle). */
interface Refused {
  seq: number;
  verdict: SeqVerdict;
  before: AppStatus;
  after: AppStatus;
  terminal: boolean;
}

export class DataHandler {
  private readonly pruner: SnapshotPruner;
  /** Refused frames per app, waiting for the end of their batch's callbacks. */
  private readonly refused = new Map<LiveApp, Refused[]>();

  constructor(private readonly hub: DataContext) {
    const { committer } = hub.deps;
    this.pruner = new SnapshotPruner(hub.options.snapshotRetention, (op, done) => committer.enqueue(op, done, BULK));
  }

  /** `verified`: a verify worker already checked the signature of this very frame. */
  message(state: ConnState, f: MessageFrame, raw: SignedFrame, verified = false): void {
    const { seq } = f.header;
    const ctx = { app_id: f.app_id, seq };
    const app = this.hub.liveApp(f.app_id);
    if (!app || app.conn !== state) {
      return this.hub.reject(state, 'not_registered', `app ${f.app_id} is not registered on this connection`, ctx);
    }
    if (app.status === 'cancelled') return this.hub.controls.refuseEnded(app, ctx);
    if (app.pubKey && !verified && !verifyFrame(raw, app.pubKey)) {
      return this.hub.reject(state, f.sig ? 'bad_signature' : 'tier_mismatch', f.sig ? 'signature does not verify' : 'this app is signed: every frame must carry "sig"', ctx);
    }
    const payloadText = JSON.stringify(f.payload);
    const verdict = judgeSeq(seq, app.highSeq, payloadText, () => this.seqFacts(app, seq));
    switch (verdict.kind) {
      case 'new':
      case 'fill':
        // Below the disk reserve new data waits on the device; what is held is still acked (duplicates).
        if (this.hub.deps.space?.low) {
          return this.hub.reject(state, 'storage_unavailable', 'disk space is below the reserve: not stored, re-send later', ctx);
        }
        return this.store(state, app, f, payloadText, verdict);
      case 'duplicate':
        return this.ackDuplicate(state, app, seq);
      case 'conflict':
        return this.hub.reject(state, 'seq_conflict', `seq ${seq} was already stored with another payload`, ctx);
      case 'regressed':
        return this.hub.reject(state, 'seq_regressed', `seq ${seq} is at or below the last stored seq ${app.highSeq}`, ctx);
    }
  }

  private store(state: ConnState, app: LiveApp, f: MessageFrame, payloadText: string, verdict: SeqVerdict): void {
    const { seq, msg_type } = f.header;
    const now = this.hub.nowIso();
    const before = app.status;
    app.status = statusAfterMessage(app.status, msg_type);
    const after = app.status;
    if (verdict.kind === 'new') app.highSeq = seq;
    if (verdict.kind === 'new' && verdict.gap) app.gaps.push(verdict.gap);
    if (verdict.kind === 'fill') app.gaps.splice(0, app.gaps.length, ...splitGaps(app.gaps, seq));
    app.uncommitted.set(seq, payloadText);
    const terminal = msg_type !== 'Status';
    if (terminal) this.hub.unbind(app);

    // The apps row is written only when the status moves: the highest stored
    // seq is the messages table's own (store.maxSeq), and apps.last_seq is
    // brought up to date by syncLastSeq(), off the per-frame path.
    const write = (w: StoreWriter): void => {
      w.insertMessage({ app_id: app.appId, direction: 'in', msg_type, seq, correlation_id: f.header.correlation_id ?? null, payload_json: f.payload, payload_text: payloadText, created_at: now });
      if (verdict.kind === 'new' && verdict.gap) w.insertSeqGap({ app_id: app.appId, from_seq: verdict.gap.from, to_seq: verdict.gap.to, detected_at: now });
      if (verdict.kind === 'fill') w.fillSeqGap(app.appId, seq);
      if (after !== before) {
        w.updateApp(app.appId, { status: after, last_seq: Math.max(seq, app.storedSeq), updated_at: now, ...(terminal ? { disconnected_at: now } : {}) });
      }
    };
    this.hub.deps.committer.enqueue(write, (err) => {
      app.uncommitted.delete(seq);
      if (err) {
        this.refuse(app, { seq, verdict, before, after, terminal });
        return this.hub.reject(state, 'storage_unavailable', `message not stored: ${err.message}`, { app_id: app.appId, seq });
      }
      if (seq > app.committedSeq) app.committedSeq = seq;
      // Committed after its session ended (closed, crashed, disconnected): apps.last_seq follows at once.
      if (this.hub.liveApp(app.appId) !== app) this.syncLastSeq([app]);
      if (after !== before) app.storedSeq = Math.max(seq, app.storedSeq);
      this.hub.send(state, { type: 'ack', seq, app_id: app.appId });
      this.emit(app, f, now, before === after ? undefined : after);
      if (terminal) this.hub.closeIfIdle(state, 'terminal');
    }, BULK);
    // After the write, so a sweep it triggers runs after this row is inserted.
    if (msg_type === 'Status') this.pruner.stored(app, seq);
  }

  /** Remembers a refused frame; its batch is judged as a whole once all its callbacks ran. */
  private refuse(app: LiveApp, r: Refused): void {
    const list = this.refused.get(app);
    if (list) return void list.push(r);
    this.refused.set(app, [r]);
    this.hub.deps.committer.afterAnswers(() => this.settle(app));
  }

  /**
   * A refused frame leaves no trace, so that its re-send is stored: the live
   * app's status, binding, highest seq and gaps go back to what they would be
   * had the frame never come. Seqs refused below one that was stored (a
   * commit that failed in part) become a recorded gap, so a re-send fills it.
   */
  private settle(app: LiveApp): void {
    const refused = this.refused.get(app) ?? [];
    this.refused.delete(app);
    for (const r of [...refused].reverse()) if (app.status === r.after) app.status = r.before;
    if (refused.some((r) => r.terminal) && !app.conn.closed && !this.hub.liveApp(app.appId)) this.hub.bind(app);
    let top = app.committedSeq;
    for (const s of app.uncommitted.keys()) top = Math.max(top, s);
    if (app.highSeq > top) {
      app.highSeq = top;
      app.gaps.splice(0, app.gaps.length, ...app.gaps.filter((g) => g.from <= top));
    }
    const now = this.hub.nowIso();
    for (const r of refused) {
      if (r.seq > app.highSeq) continue;
      if (r.verdict.kind === 'fill') {
        app.gaps.push({ from: r.seq, to: r.seq }); // its row was never filled
        continue;
      }
      const hole = { from: r.verdict.kind === 'new' && r.verdict.gap ? r.verdict.gap.from : r.seq, to: r.seq };
      app.gaps.splice(0, app.gaps.length, ...app.gaps.filter((g) => g.from < hole.from || g.to > hole.to), hole);
      this.hub.deps.committer.enqueue((w) => w.insertSeqGap({ app_id: app.appId, from_seq: hole.from, to_seq: hole.to, detected_at: now }));
    }
  }

  /** Writes apps.last_seq for live apps whose committed seq moved on since it was last written. */
  syncLastSeq(apps: Iterable<LiveApp>): void {
    const now = this.hub.nowIso();
    for (const app of apps) {
      const seq = app.committedSeq;
      if (seq <= app.storedSeq) continue;
      this.hub.deps.committer.enqueue(
        (w) => w.updateApp(app.appId, { last_seq: seq, updated_at: now }),
        (err) => void (err || (app.storedSeq = Math.max(app.storedSeq, seq))),
        BULK,
      );
    }
  }

  /** A re-send of a stored seq: ack again, store nothing. If the original is still being committed, wait for it. */
  private ackDuplicate(state: ConnState, app: LiveApp, seq: number): void {
    if (!app.uncommitted.has(seq)) return this.hub.send(state, { type: 'ack', seq, app_id: app.appId, duplicate: true });
    this.hub.deps.committer.enqueue(noWrite, (err) => {
      if (!err) this.hub.send(state, { type: 'ack', seq, app_id: app.appId, duplicate: true });
    }, BULK);
  }

  private seqFacts(app: LiveApp, seq: number): { stored?: string; inGap: boolean } {
    const pending = app.uncommitted.get(seq);
    if (pending !== undefined) return { stored: pending, inGap: false };
    const row = this.hub.deps.store.messageBySeq(app.appId, seq);
    if (row) return { stored: JSON.stringify(row.payload_json), inGap: false };
    return { inGap: app.gaps.some((g) => g.from <= seq && seq <= g.to) };
  }

  private emit(app: LiveApp, f: MessageFrame, at: string, newStatus: AppStatus | undefined): void {
    const events = this.hub.deps.events;
    if (events.size === 0) return;
    const { appId: app_id, parentId: parent_id, namespace } = app;
    events.emit({ app_id, parent_id, namespace, at, type: 'message', msg_type: f.header.msg_type, seq: f.header.seq, payload: f.payload });
    if (newStatus) events.emit({ app_id, parent_id, namespace, at, type: 'app_status', status: newStatus });
  }
}

function noWrite(): void {}

/** Data writes may wait for the committer's pacing (group-commit.ts). */
const BULK = true;
