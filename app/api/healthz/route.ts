/** Liveness: the process serves requests. Deliberately checks nothing else, so a database outage does not restart every replica. */
export function GET(): Response {
  return Response.json({ ok: true });
}
