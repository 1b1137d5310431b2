/**
 * Dashboard sign-in: one-time codes (minted for the admin by `kumo dashboard`) exchanged for
 * browser sessions. Codes and session ids are random secrets kept only as SHA-256 hashes, so a
 * lookup never compares a secret byte by byte. Time comes in as `nowMs`; randomness as a function.
 */
import { createHash } from 'node:crypto';

export interface SessionPolicy {
  /** How long a sign-in code works (once). */
  codeTtlMs: number;
  /** How long a session lasts from sign-in. */
  sessionTtlMs: number;
  /** Unredeemed codes kept at most; the oldest go first. */
  maxCodes: number;
  /** Live sessions kept at most; the oldest go first. */
  maxSessions: number;
}

export const DEFAULT_SESSION_POLICY: Readonly<SessionPolicy> = Object.freeze({
  codeTtlMs: 60_000,
  sessionTtlMs: 12 * 3_600_000,
  maxCodes: 100,
  maxSessions: 1000,
});

export interface Session {
  /** Sent back in `X-Kumo-CSRF` on every state-changing call. */
  csrfToken: string;
  createdMs: number;
  expiresAtMs: number;
}

/** A new secret: `bytes` random bytes, base64url. */
export type SecretSource = (bytes: number) => string;

const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

/** Drops entries past their expiry, then the oldest beyond `max` (Maps keep insertion order). */
function trim<T extends { expiresAtMs: number }>(m: Map<string, T>, nowMs: number, max: number): void {
  for (const [k, v] of m) if (v.expiresAtMs <= nowMs) m.delete(k);
  for (const k of m.keys()) {
    if (m.size <= max) break;
    m.delete(k);
  }
}

export class Sessions {
  private readonly codes = new Map<string, { expiresAtMs: number }>();
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly secret: SecretSource,
    readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  ) {}

  /** A code that signs one browser in, once, within `codeTtlMs`. */
  issueCode(nowMs: number): { code: string; expiresAtMs: number } {
    const code = this.secret(24);
    const expiresAtMs = nowMs + this.policy.codeTtlMs;
    this.codes.set(hash(code), { expiresAtMs });
    trim(this.codes, nowMs, this.policy.maxCodes);
    return { code, expiresAtMs };
  }

  /** Spends the code; a new session id (for the cookie) and its record, or undefined. */
  redeem(code: string, nowMs: number): { id: string; session: Session } | undefined {
    const key = hash(code);
    const c = this.codes.get(key);
    this.codes.delete(key);
    if (!c || c.expiresAtMs <= nowMs) return undefined;
    const id = this.secret(32);
    const session: Session = { csrfToken: this.secret(24), createdMs: nowMs, expiresAtMs: nowMs + this.policy.sessionTtlMs };
    this.sessions.set(hash(id), session);
    trim(this.sessions, nowMs, this.policy.maxSessions);
    return { id, session };
  }

  lookup(id: string, nowMs: number): Session | undefined {
    const key = hash(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (s.expiresAtMs <= nowMs) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  end(id: string): void {
    this.sessions.delete(hash(id));
  }
}
