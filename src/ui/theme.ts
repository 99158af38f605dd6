/**
 * The dashboard's one palette, by meaning. Components name a role, never a colour, so a change of
 * look is one edit here. NO_COLOR is honoured by chalk (which Ink renders through).
 */
export const theme = {
  plain: undefined,
  ok: "green",
  error: "red",
  warn: "yellow",
  accent: "cyan",
  hit: "magenta",
  muted: "gray",
  focus: "cyan",
  title: "white",
} as const satisfies Record<string, string | undefined>;

export type Role = keyof typeof theme;

/** A run of text with the role that colours it: what pure layout functions hand to components. */
export interface Segment {
  text: string;
  role?: Role;
  bold?: boolean;
}

/** How full a gauge is, as a role: green while there is room, yellow near the top, red at it. */
export function levelRole(ratio: number): Role {
  if (ratio >= 0.95) return "error";
  if (ratio >= 0.75) return "warn";
  return "ok";
}
