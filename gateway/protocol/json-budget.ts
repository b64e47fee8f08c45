/**
 * The nesting and size budget of client JSON, checked on the text before
 * JSON.parse, so that nothing recursive (the parser, canonical JSON, error
 * text, JSON.stringify for storage) ever sees a value deeper than the budget.
 * A 40 KB frame of 20,000 nested brackets used to overflow the stack while
 * its error message was built and take the process down.
 *
 * One linear pass over the text. Strings are skipped with indexOf (native),
 * so a frame costs about one comparison per structural character; a typical
 * 200-byte Status frame costs well under a microsecond (docs/PROTOCOL.md).
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
