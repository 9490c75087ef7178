import http from "node:http";

/**
 * GET `url` with another Host header, as a browser reaching a site through
 * the ingress would (fetch cannot set Host). Never rejects on an HTTP
 * status; rejects when there is no answer within `timeoutMs`.
 */
export function getWithHost(url: string, host: string, timeoutMs = 5_000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { host }, timeout: timeoutMs }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on("error", reject);
  });
}
