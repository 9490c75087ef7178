import { createParser } from "eventsource-parser";
import { enc, type Api } from "./api";
import { CliError } from "./errors";
import type { z } from "zod";
import type { sitePhaseEventSchema } from "../../lib/api/schemas";

/** The `phase` event of the site status stream (lib/publishing/status-stream.ts). */
export type PhaseEvent = z.infer<typeof sitePhaseEventSchema>;

export interface WaitOptions {
  timeoutMs: number;
  onPhase?: (event: PhaseEvent) => void;
}

/**
 * Follows the site's status stream until `digest` is Live (resolves with that
 * event) or the rollout is reported Failed (rejects with the operator's own
 * message). The stream sends the current phase at once, so opening it after
 * the upload misses nothing.
 */
export async function waitForLive(api: Api, workspace: string, site: string, digest: string, opts: WaitOptions): Promise<PhaseEvent> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const response = await api.fetch(`/api/tenants/${enc(workspace)}/sites/${enc(site)}/status`, {
      headers: { accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.body) throw new CliError("bad_response", "The status stream has no body.");
    let outcome = null as { live: PhaseEvent } | { failed: PhaseEvent } | null;
    const parser = createParser({
      onEvent(event) {
        if (event.event !== "phase" || outcome) return;
        const data = JSON.parse(event.data) as PhaseEvent;
        opts.onPhase?.(data);
        if (data.phase === "Live" && data.currentDigest === digest) outcome = { live: data };
        else if (data.phase === "Failed") outcome = { failed: data };
      },
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        if (outcome) break;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    if (outcome && "live" in outcome) return outcome.live;
    if (outcome)
      throw new CliError("rollout_failed", outcome.failed.message, { hint: `The site stays on what it served before. Reason: ${outcome.failed.reason}.` });
    throw new CliError("stream_closed", "The status stream closed before the deploy went Live.", { hint: `Follow it with "pagoda deploys ${site}".` });
  } catch (error) {
    if (controller.signal.aborted) {
      throw new CliError("timeout", `The deploy did not go Live within ${Math.round(opts.timeoutMs / 1000)} s.`, {
        hint: `It may still roll out: follow it with "pagoda deploys ${site}".`,
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
