import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";

/** The 32-byte key that encrypts upstream keys at rest, and where it came from (for error messages). */
export interface MasterKey {
  key: Buffer;
  source: string;
}

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MasterKeyError";
  }
}

/**
 * `$AIGW_MASTER_KEY` (base64 of 32 bytes), else `<home>/master.key`, created 0600 when `create` is set
 * and it does not exist yet.
 */
export function loadMasterKey(
  file: string,
  opts: { env?: NodeJS.ProcessEnv; create: boolean },
): MasterKey | null {
  const fromEnv = (opts.env ?? process.env).AIGW_MASTER_KEY;
  if (fromEnv) return { key: decodeKey(fromEnv, "AIGW_MASTER_KEY"), source: "$AIGW_MASTER_KEY" };
  if (existsSync(file)) return { key: decodeKey(readFileSync(file, "utf8").trim(), file), source: file };
  if (!opts.create) return null;
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return { key, source: file };
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== 32)
    throw new MasterKeyError(`${where}: expected base64 of 32 bytes, got ${key.length} bytes`);
  return key;
}

/** AES-256-GCM: iv (12) | tag (16) | ciphertext. */
export function encryptSecret(master: MasterKey, plaintext: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", master.key, iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Decrypts, or throws MasterKeyError: a wrong master key never yields a garbled secret. */
export function decryptSecret(master: MasterKey, sealed: Buffer): string {
  try {
    const decipher = createDecipheriv("aes-256-gcm", master.key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    throw new MasterKeyError(
      `cannot decrypt stored upstream keys with the master key from ${master.source}: it is not the key they were stored with`,
    );
  }
}

/** A value that identifies a master key without revealing it (stored to detect a swapped key early). */
export function masterKeyCheck(master: MasterKey): string {
  return createHmac("sha256", master.key).update("aigw master key check").digest("base64url").slice(0, 16);
}

/** `sk-proj-abc…wxyz` → `sk-…wxyz`: enough to tell keys apart, never enough to use one. */
export function maskSecret(secret: string): string {
  const prefix = /^([a-z]{2,4}-)/i.exec(secret)?.[1] ?? "";
  return `${prefix}…${secret.slice(-4)}`;
}
