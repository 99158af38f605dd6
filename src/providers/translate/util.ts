/** Narrowing helpers for untrusted JSON, and SSE frame encoders, shared by both translators. */

import { badRequest, type GatewayError } from "../../errors.js";

export type JsonRecord = Record<string, unknown>;

export const asRecord = (v: unknown): JsonRecord | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonRecord) : undefined;

export const asArray = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export const num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/** Absent in the JSON sense: missing or explicitly `null`. */
export const isAbsent = (v: unknown): v is null | undefined => v === undefined || v === null;

export const isBlank = (s: string): boolean => s.trim() === "";

/** `JSON.parse` that returns `undefined` instead of throwing. */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/** The record at `v`, or a 400 naming `field`. */
export const requireRecord = (v: unknown, field: string): JsonRecord => {
  const rec = asRecord(v);
  if (!rec) throw badRequest(`\`${field}\` must be an object`);
  return rec;
};

/** The array at `v`, or a 400 naming `field`. */
export const requireArray = (v: unknown, field: string): unknown[] => {
  const arr = asArray(v);
  if (!arr) throw badRequest(`\`${field}\` must be an array`);
  return arr;
};

/** The string at `v`, or a 400 naming `field`. */
export const requireString = (v: unknown, field: string): string => {
  const s = str(v);
  if (s === undefined) throw badRequest(`\`${field}\` must be a string`);
  return s;
};

/** A 400 for a field that has no equivalent on the other API. */
export const unsupported = (field: string, why: string): GatewayError =>
  badRequest(`\`${field}\` ${why}`, "unsupported_parameter");

/** A non-negative integer token count, 0 when absent or malformed. */
export const count = (v: unknown): number => {
  const n = num(v);
  return n !== undefined && n > 0 ? Math.floor(n) : 0;
};

/** An OpenAI-style SSE frame: `data: <json>` and a blank line. */
export const dataFrame = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/** An Anthropic-style SSE frame: named event, `data: <json>`, blank line. */
export const eventFrame = (event: string, payload: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;

export const DONE_FRAME = "data: [DONE]\n\n";
