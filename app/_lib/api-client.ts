"use client";

import { getCsrfToken } from "next-auth/react";

export interface ApiFailure {
  status: number;
  code: string;
  message: string;
  fields: Record<string, string>;
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiFailure };

/** Calls the dashboard API with the CSRF header and turns every failure into a message a person can read. */
export async function callApi<T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<ApiResult<T>> {
  try {
    const csrf = method === "GET" ? null : await getCsrfToken();
    const response = await fetch(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(csrf ? { "x-csrf-token": csrf } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return { ok: true, data: undefined as T };
    const payload = (await response.json().catch(() => null)) as { error?: Partial<ApiFailure> } | null;
    if (!response.ok) {
      return {
        ok: false,
        error: {
          status: response.status,
          code: payload?.error?.code ?? "unknown",
          message: payload?.error?.message ?? `The request failed (HTTP ${response.status}).`,
          fields: payload?.error?.fields ?? {},
        },
      };
    }
    return { ok: true, data: payload as T };
  } catch {
    return { ok: false, error: { status: 0, code: "network", message: "Could not reach the server. Check your connection and try again.", fields: {} } };
  }
}
