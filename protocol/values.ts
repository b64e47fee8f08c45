/**
 * The values frames are made of, apart from the frames themselves (so that
 * frames.ts and bootstrap-frames.ts can both use them without a circle).
 */

export type SecLevel = 'open' | 'signed' | 'encrypted' | 'full';
export const SEC_LEVELS: readonly SecLevel[] = ['open', 'signed', 'encrypted', 'full'];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
