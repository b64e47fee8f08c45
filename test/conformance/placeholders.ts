/**
 * `{{…}}` placeholders of the scenario format. A name is fixed the first time
 * it is used and keeps its value for the rest of the scenario chain, except
 * NOW_MS and LAST_SEQ, which are read at each use.
 *
 *  - …PUB_KEY                      a fresh Ed25519 key; the private half signs `sign` steps
 *  - APP_ID…, PARENT_ID…, …_UUID   a fresh UUID v4
 *  - SERVER_PUB_KEY                the gateway's key (given, or learned from `registered`)
 *  - NOW_MS                        Date.now(), strictly increasing within a run
 *  - LAST_SEQ                      highest data seq this chain sent
 *  - NAME + N, NAME - N            arithmetic on a numeric value
 *
 * A placeholder that is a whole JSON string becomes a number when its value
 * is one ("{{LAST_SEQ + 1}}" → 2); inside a longer string it is interpolated.
 */
import { randomUUID } from 'node:crypto';
import type { Json } from './scenario.js';
import { newSigningKey, type SigningKey } from './signatures.js';

const WHOLE = /^\{\{([^{}]+)\}\}$/;
const ANY = /\{\{([^{}]+)\}\}/g;
const EXPR = /^\s*([A-Z][A-Z0-9_]*)\s*(?:([+-])\s*(\d+))?\s*$/;

export class Placeholders {
  private readonly values = new Map<string, string | number>();
  private readonly keys = new Map<string, SigningKey>();
  private lastNow = 0;
  lastSeq = 0;

  /** `serverPubKey` is asked at each use: the runner may learn the key mid-run. */
  constructor(private readonly serverPubKey: () => string | undefined = () => undefined) {}

  /** Replaces every placeholder in a JSON value (object keys are left alone). */
  substitute<T extends Json>(value: T): T {
    return this.walk(value) as T;
  }

  text(s: string): string {
    return s.replace(ANY, (_m, expr: string) => String(this.evaluate(expr)));
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  set(name: string, value: string | number): void {
    this.values.set(name, value);
  }

  /** The signing key behind a …PUB_KEY placeholder (created on first use). */
  signingKey(name: string): SigningKey {
    this.value(name);
    const key = this.keys.get(name);
    if (!key) throw new Error(`{{${name}}} is not a client key placeholder`);
    return key;
  }

  /** Placeholder names used anywhere in a JSON value. */
  static namesIn(value: unknown): Set<string> {
    const names = new Set<string>();
    for (const m of JSON.stringify(value).matchAll(ANY)) {
      const name = EXPR.exec(m[1]!)?.[1];
      if (name) names.add(name);
    }
    return names;
  }

  private walk(v: Json): Json {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      return whole ? this.evaluate(whole[1]!) : this.text(v);
    }
    if (Array.isArray(v)) return v.map((x) => this.walk(x));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.walk(x)]));
    }
    return v;
  }

  private evaluate(expr: string): string | number {
    const m = EXPR.exec(expr);
    if (!m) throw new Error(`placeholder {{${expr}}} is not NAME, NAME + N or NAME - N`);
    const value = this.value(m[1]!);
    if (!m[2]) return value;
    if (typeof value !== 'number') throw new Error(`{{${expr}}}: ${m[1]} is not a number`);
    return m[2] === '+' ? value + Number(m[3]) : value - Number(m[3]);
  }

  private value(name: string): string | number {
    if (name === 'NOW_MS') return (this.lastNow = Math.max(Date.now(), this.lastNow + 1));
    if (name === 'LAST_SEQ') return this.lastSeq;
    const known = this.values.get(name);
    if (known !== undefined) return known;
    if (name === 'SERVER_PUB_KEY') {
      const key = this.serverPubKey();
      if (!key) throw new Error('{{SERVER_PUB_KEY}} is not known yet (no registered frame seen)');
      return key;
    }
    let fresh: string;
    if (name.endsWith('PUB_KEY')) {
      const key = newSigningKey();
      this.keys.set(name, key);
      fresh = key.publicKeyText;
    } else if (/^(APP_ID|PARENT_ID)/.test(name) || name.endsWith('_UUID')) fresh = randomUUID();
    else throw new Error(`unknown placeholder {{${name}}}`);
    this.values.set(name, fresh);
    return fresh;
  }
}
