// Docker HEALTHCHECK of the Pagoda image (Kubernetes uses its own probes).
// The image has no curl or wget; node's fetch does the request. The operator
// role points PAGODA_HEALTHCHECK_URL at its /healthz.
const port = process.env.PORT || "3000";
const url = process.env.PAGODA_HEALTHCHECK_URL || `http://127.0.0.1:${port}/api/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
