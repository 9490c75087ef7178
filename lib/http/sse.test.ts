import { describe, expect, it } from "vitest";
import { SSE_HEADERS, sseResponse, sseStream } from "@/lib/http/sse";

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: (text: string) => boolean): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  return text;
}

describe("sseStream", () => {
  it("formats events, keeps an idle stream open with one comment line per interval, and releases once when the browser leaves", async () => {
    const browser = new AbortController();
    let releases = 0;
    const reader = sseStream(
      browser.signal,
      ({ send, onClose }) => {
        send("phase", { phase: "Live" });
        onClose(() => (releases += 1));
      },
      { keepaliveMs: 20 },
    ).getReader();
    const text = await readUntil(reader, (t) => (t.match(/: ping\n\n/g) ?? []).length >= 3);
    expect(text.startsWith('event: phase\ndata: {"phase":"Live"}\n\n')).toBe(true);
    // Only the one keepalive: between two pings there is nothing else.
    expect(text.slice(text.indexOf(": ping"))).toMatch(/^(: ping\n\n)+$/);
    browser.abort();
    browser.abort();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(releases).toBe(1);
  });

  it("releases what is subscribed after the browser already left, and sends nothing", async () => {
    const browser = new AbortController();
    let released = false;
    const reader = sseStream(browser.signal, async ({ send, onClose }) => {
      await new Promise((resolve) => setImmediate(resolve));
      browser.abort();
      send("late", "too late");
      onClose(() => (released = true));
    }).getReader();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(released).toBe(true);
  });

  it("ends the stream and releases when its start fails", async () => {
    let released = false;
    const reader = sseStream(new AbortController().signal, async ({ onClose }) => {
      onClose(() => (released = true));
      await Promise.resolve();
      throw new Error("the database is down");
    }).getReader();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(released).toBe(true);
  });

  it("releases when the reader cancels", async () => {
    let released = 0;
    const reader = sseStream(new AbortController().signal, ({ onClose }) => onClose(() => (released += 1))).getReader();
    await reader.cancel();
    expect(released).toBe(1);
  });
});

describe("sseResponse", () => {
  it("answers with the event-stream headers", () => {
    const response = sseResponse(new AbortController().signal, () => {});
    expect(Object.fromEntries(response.headers)).toMatchObject({ "content-type": SSE_HEADERS["Content-Type"], "x-accel-buffering": "no" });
    void response.body?.cancel();
  });
});
