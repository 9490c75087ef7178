/**
 * Reading what really arrived at the run's Mailpit, through its HTTP API
 * (https://mailpit.axllent.org/docs/api-v1/). Shared by the integration tests
 * (mailpitUrl from inject()) and the browser tests (E2E_MAILPIT_URL).
 */

export interface MailSummary {
  ID: string;
  Subject: string;
  To: { Name: string; Address: string }[];
  From: { Name: string; Address: string };
}

export interface MailMessage extends MailSummary {
  Text: string;
  HTML: string;
}

async function api<T>(baseUrl: string, pathAndQuery: string): Promise<T> {
  const response = await fetch(`${baseUrl}/api/v1/${pathAndQuery}`);
  if (!response.ok) throw new Error(`Mailpit ${pathAndQuery}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Every message to `address` that Mailpit holds, newest first. */
export async function messagesTo(baseUrl: string, address: string): Promise<MailSummary[]> {
  const found = await api<{ messages: MailSummary[] }>(baseUrl, `search?query=${encodeURIComponent(`to:"${address}"`)}&limit=50`);
  // Mailpit's search matches substrings; only this exact recipient counts.
  return found.messages.filter((message) => message.To.some((to) => to.Address.toLowerCase() === address.toLowerCase()));
}

export function readMessage(baseUrl: string, id: string): Promise<MailMessage> {
  return api<MailMessage>(baseUrl, `message/${id}`);
}

/** The raw source, headers and all, as the SMTP server received it. */
export async function rawMessage(baseUrl: string, id: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/message/${id}/raw`);
  if (!response.ok) throw new Error(`Mailpit raw ${id}: HTTP ${response.status}`);
  return response.text();
}

/**
 * Waits until `count` messages to `address` have arrived and returns the
 * newest, read in full. For mail that is sent after an answer (a password
 * reset), there is nothing to await but its arrival.
 */
export async function waitForMessage(baseUrl: string, address: string, { count = 1, timeoutMs = 30_000 } = {}): Promise<MailMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await messagesTo(baseUrl, address);
    if (messages.length >= count) return readMessage(baseUrl, messages[0]!.ID);
    if (Date.now() > deadline) throw new Error(`no message ${count} to ${address} arrived within ${timeoutMs / 1000}s (${messages.length} so far)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The one link into the dashboard at `path` that a message's text part carries. */
export function linkIn(message: MailMessage, path: "/reset-password" | "/verify-email"): string {
  const links = [...message.Text.matchAll(/https?:\/\/\S+/g)].map((match) => match[0]).filter((url) => new URL(url).pathname === path);
  if (links.length !== 1) throw new Error(`expected one ${path} link in "${message.Subject}", found ${links.length}:\n${message.Text}`);
  return links[0]!;
}
