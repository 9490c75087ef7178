"use client";

import { getCsrfToken } from "next-auth/react";

export type SignInResult =
  { ok: true } | { ok: false; code: "wrong_credentials" | "rate_limited" | "csrf" | "network" | "other"; message: string; retryAfterSeconds?: number };

/** "in 1 minute (at 10:42)": when a limited attempt may be made again. */
export function retryWhen(seconds: number, now = new Date()): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const at = new Date(now.getTime() + seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return `in ${minutes} minute${minutes === 1 ? "" : "s"} (at ${at})`;
}

/**
 * Signs in through next-auth's credentials endpoint, as next-auth's own
 * client does, but keeps what that client drops: the status, the message and
 * Retry-After of a refusal, so the page can say why and until when.
 */
export async function signInWithPassword(email: string, password: string): Promise<SignInResult> {
  let response: Response;
  try {
    const csrfToken = (await getCsrfToken()) ?? "";
    response = await fetch("/api/auth/callback/credentials", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password, csrfToken, json: "true" }),
    });
  } catch {
    return { ok: false, code: "network", message: "Could not reach the server. Check your connection and try again." };
  }
  const payload = (await response.json().catch(() => null)) as { url?: string; error?: { message?: string } } | null;
  if (response.status === 429) {
    const seconds = Number(response.headers.get("retry-after")) || 60;
    return { ok: false, code: "rate_limited", retryAfterSeconds: seconds, message: `Too many sign-in attempts. Try again ${retryWhen(seconds)}.` };
  }
  if (response.status === 401) return { ok: false, code: "wrong_credentials", message: "Wrong email or password." };
  const url = payload?.url ? new URL(payload.url, window.location.origin) : null;
  if (response.ok && url?.searchParams.get("csrf") === "true") {
    return { ok: false, code: "csrf", message: "This page's security token has expired. Reload the page and try again." };
  }
  if (!response.ok || !url || url.searchParams.has("error")) {
    return { ok: false, code: "other", message: payload?.error?.message ?? `Sign-in failed (HTTP ${response.status}). Try again.` };
  }
  return { ok: true };
}
