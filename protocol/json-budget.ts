/**
 * The nesting and size budget of client JSON, checked on the text before
 * JSON.parse, so that nothing recursive (the parser, canonical JSON, error
 * text, JSON.stringify for storage) ever sees a value deeper than the budget.
 * A 40 KB frame of 20,000 nested brackets used to overflow the stack while
 * its error message was built and take the process down.
 *
 * Nearly every frame has fewer brackets than the depth budget: counting them
 * with native indexOf settles it (about 0.1 µs for a 200-byte Status frame,
 * a few percent of its JSON.parse). Otherwise one linear pass over the text,
 * strings skipped with indexOf.
 * Text that is not JSON may pass: JSON.parse refuses it next, and the budget
 * only has to hold for text that parses.
 */

/** Deepest nesting of objects and arrays in one frame or request body (a frame itself is depth 1). */
export const MAX_JSON_DEPTH = 32;
/** Most members and elements (counted as the separating commas) in one frame or request body. */
export const MAX_JSON_ITEMS = 16_384;

export type JsonBudgetVerdict = { ok: true } | { ok: false; reason: 'depth' | 'items'; message: string };

const OK: JsonBudgetVerdict = { ok: true };

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;
const COMMA = 44;

export function checkJsonBudget(text: string, maxDepth = MAX_JSON_DEPTH, maxItems = MAX_JSON_ITEMS): JsonBudgetVerdict {
  // The fast path, which nearly every frame takes: depth cannot exceed the
  // number of opening brackets, nor the items the number of commas (counted
  // with native indexOf, strings included). Only a text with more of either
  // than its budget is scanned character by character.
  if (atMost(text, '{', '[', maxDepth) && (text.length <= maxItems || atMost(text, ',', ',', maxItems))) return OK;
  return scan(text, maxDepth, maxItems);
}

/** Whether `a` and `b` together occur at most `max` times in `text`. */
function atMost(text: string, a: string, b: string, max: number): boolean {
  let count = 0;
  for (let at = text.indexOf(a); at >= 0; at = text.indexOf(a, at + 1)) if (++count > max) return false;
  if (a !== b) for (let at = text.indexOf(b); at >= 0; at = text.indexOf(b, at + 1)) if (++count > max) return false;
  return true;
}

function scan(text: string, maxDepth: number, maxItems: number): JsonBudgetVerdict {
  let depth = 0;
  let items = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
      if (i < 0) return OK; // unterminated: not JSON, JSON.parse says so
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return { ok: false, reason: 'depth', message: `JSON nests deeper than ${maxDepth} levels` };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COMMA) {
      if (++items > maxItems) return { ok: false, reason: 'items', message: `JSON has more than ${maxItems} members and elements` };
    }
  }
  return OK;
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function endOfString(text: string, open: number): number {
  let at = text.indexOf('"', open + 1);
  while (at > 0) {
    let slashes = 0;
    for (let j = at - 1; text.charCodeAt(j) === BACKSLASH; j--) slashes++;
    if ((slashes & 1) === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return -1;
}
