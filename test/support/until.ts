/** Polls `check` until it is truthy or `ms` pass; the tests' one way to wait for something asynchronous. */
export async function until<T>(check: () => T | undefined | false | null, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
