import http from "node:http";
import type { BrowserContext } from "@playwright/test";
import pg from "pg";

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes handed to the socket when the answer's headers arrived. */
  sentBeforeAnswer: number;
}

/**
 * Sends a request the way a hostile client would: any Cookie header, and a
 * body of `bodyBytes` streamed in chunks with no Content-Length (or with
 * the one given in `headers`). Stops sending as soon as the server answers,
 * and reports how much had been sent by then, so a test can tell a server
 * that refused early from one that read everything first.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; bodyBytes?: number; prefix?: string } = {},
): Promise<RawAnswer> {
  const total = options.bodyBytes ?? 0;
  const streamed = total > 0 || options.prefix !== undefined;
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: options.method ?? (streamed ? "POST" : "GET"),
      headers: { ...(streamed && !options.headers?.["content-length"] ? { "transfer-encoding": "chunked" } : {}), ...options.headers },
    });
    let sent = 0;
    let answered = false;
    request.on("response", (response) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString("utf8"), sentBeforeAnswer });
        request.destroy();
      });
      response.on("error", reject);
    });
    // After the answer the server may close while we still write; that is the point.
    request.on("error", (error) => (answered ? undefined : reject(error)));
    if (!streamed) return void request.end();
    if (options.prefix) {
      request.write(options.prefix);
      sent += Buffer.byteLength(options.prefix);
    }
    const chunk = Buffer.alloc(64 * 1024, "a");
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once("drain", pump);
      }
      if (!answered) request.end();
    };
    pump();
  });
}

/** The Cookie header a browser context would send to the dashboard. */
export async function cookieHeader(context: BrowserContext, baseURL: string): Promise<string> {
  return (await context.cookies(baseURL)).map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
}

/** Row counts of every table in the test database: what a refused request must leave unchanged. */
export async function rowCounts(): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`);
      counts[name] = Number(result.rows[0]!.n);
    }
    return counts;
  } finally {
    await client.end();
  }
}
