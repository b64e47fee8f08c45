/**
 * How many sockets each remote address holds now: the per-address caps on
 * device and watch sockets. An address leaves the map when its last socket
 * closes, so the map is as large as the set of addresses connected. Pure.
 */
export class AddressCounts {
  private readonly counts = new Map<string, number>();

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  add(address: string): void {
    this.counts.set(address, this.count(address) + 1);
  }

  remove(address: string): void {
    const n = this.count(address) - 1;
    if (n > 0) this.counts.set(address, n);
    else this.counts.delete(address);
  }

  /** Addresses holding at least one socket. */
  get size(): number {
    return this.counts.size;
  }
}

/**
 * The key of a remote address: an IPv4 address reached over a dual-stack
 * socket (::ffff:192.0.2.7) counts as the IPv4 address itself, so one host
 * cannot hold two shares.
 */
export function addressKey(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const lower = remote.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}
