/**
 * The gateway keys a device accepts, with rotation (rotate_keys): before
 * effectiveAfter the old key, after it the new one, and within a skew window
 * around the switch both, so neither a gateway clock a little ahead nor one a
 * little behind leaves a gap in which nothing verifies.
 */
import { decodePublicKey } from '../protocol/keys.js';
import { clientCrypto, verifyFrame, type VerifyingKey } from './crypto.js';

export interface KeySchedule {
  current: string;
  next?: { key: string; effectiveAfter: number } | null;
}

export const DEFAULT_ROTATION_SKEW_MS = 60_000;

export class KeyTrust {
  private readonly objects = new Map<string, VerifyingKey>();

  constructor(
    private sched: KeySchedule,
    private readonly now: () => number = Date.now,
    readonly skewMs = DEFAULT_ROTATION_SKEW_MS,
  ) {}

  /** The keys that verify at this moment, oldest first. */
  accepted(): string[] {
    const next = this.sched.next;
    if (!next) return [this.sched.current];
    const t = this.now();
    if (t < next.effectiveAfter - this.skewMs) return [this.sched.current];
    if (t > next.effectiveAfter + this.skewMs) return [next.key];
    return [this.sched.current, next.key];
  }

  /** The key the device should name as its serverPubKey now (the gateway's own switch is at effectiveAfter). */
  get primary(): string {
    const next = this.sched.next;
    return next && this.now() >= next.effectiveAfter ? next.key : this.sched.current;
  }

  verify(frame: object): boolean {
    return this.accepted().some((k) => {
      const key = this.object(k);
      return key !== undefined && verifyFrame(frame, key);
    });
  }

  schedule(key: string, effectiveAfter: number): void {
    this.sched = { current: this.primary, next: { key, effectiveAfter } };
  }

  /** Once the window is over the old key is dropped for good; true when that happened now. */
  settle(): boolean {
    const next = this.sched.next;
    if (!next || this.now() <= next.effectiveAfter + this.skewMs) return false;
    this.sched = { current: next.key, next: null };
    return true;
  }

  get snapshot(): KeySchedule {
    return { current: this.sched.current, next: this.sched.next ? { ...this.sched.next } : null };
  }

  private object(text: string): VerifyingKey | undefined {
    let k = this.objects.get(text);
    if (!k) {
      const raw = decodePublicKey(text);
      if (!raw) return undefined;
      this.objects.set(text, (k = clientCrypto.ed25519.verifyingKey(raw)));
    }
    return k;
  }
}
