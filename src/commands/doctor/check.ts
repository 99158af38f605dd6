import type { ClientStore } from "../../store/clients.js";
import type { KeyStore } from "../../store/keys.js";

/** What a doctor check reports, and the helpers every check uses. */
export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  hint: string | null;
}

const check =
  (status: CheckStatus) =>
  (name: string, detail: string, hint: string | null = null): Check => ({ name, status, detail, hint });
export const ok = check("ok");
export const warn = check("warn");
export const fail = check("fail");

/** What doctor opened: the stores exist only when the database does and its schema is current. */
export interface Stores {
  keys: KeyStore | null;
  clients: ClientStore | null;
  close(): void;
}

export const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
export const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
