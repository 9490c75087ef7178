import "server-only";
import { hash, verify } from "@node-rs/argon2";

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): a few tens of
// milliseconds per hash on one core, slow enough to hurt an offline attacker.
// The package declares its Algorithm enum as an ambient const enum, which
// isolated modules cannot read; 2 is its value for Argon2id.
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

// Verifying against a real hash when the account does not exist keeps the
// response time of "unknown email" equal to that of "wrong password".
let decoy: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (storedHash === null) {
    decoy ??= hashPassword("decoy password that never matches anything");
    await verify(await decoy, password);
    return false;
  }
  return verify(storedHash, password);
}
