/**
 * The messages Pagoda sends, each with a plain-text and an HTML part. Pure:
 * no configuration, no I/O, so the unit tests read exactly what goes out.
 *
 * What a person typed (their name) reaches two places: the To header, as a
 * display name nodemailer encodes, and the body. Control characters are
 * dropped from it first, so no CR or LF can start a header of its own, and
 * the HTML part escapes it.
 */

export interface Recipient {
  name: string;
  address: string;
}

export interface OutgoingMessage {
  to: Recipient;
  subject: string;
  text: string;
  html: string;
}

/** A display name with every control character (CR, LF, NUL, tab…) turned into a space, trimmed and bounded. */
export function safeDisplayName(name: string): string {
  return name
    .replace(/\p{Cc}/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 80);
}

/** An address, refused outright if it holds anything that could end a header or name a second recipient. */
export function safeAddress(address: string): string {
  if (!/^[^\s<>,;"\p{Cc}]+@[^\s<>,;"\p{Cc}]+$/u.test(address)) throw new Error("refusing to send to a malformed address");
  return address;
}

/** Text for an HTML part of a mail: every character that could open markup or end an attribute, escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function message(to: Recipient, subject: string, paragraphs: string[], action: { label: string; url: string }, after: string[]): OutgoingMessage {
  const name = safeDisplayName(to.name);
  const recipient = { name, address: safeAddress(to.address) };
  const greeting = name ? `Hello ${name},` : "Hello,";
  const text = [greeting, "", ...paragraphs.flatMap((p) => [p, ""]), `${action.label}: ${action.url}`, "", ...after.flatMap((p) => [p, ""]), "— Pagoda"].join(
    "\n",
  );
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif; line-height: 1.5; color: #0f172a">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p><a href="${escapeHtml(action.url)}" style="display: inline-block; padding: 8px 16px; background: #4f46e5; color: #fff; text-decoration: none; border-radius: 6px">${escapeHtml(action.label)}</a></p>`,
    `<p style="font-size: 13px; color: #475569">If the button does not work, open this address: ${escapeHtml(action.url)}</p>`,
    ...after.map((p) => `<p style="font-size: 13px; color: #475569">${escapeHtml(p)}</p>`),
    "<p>— Pagoda</p>",
    "</body></html>",
  ].join("\n");
  return { to: recipient, subject, text, html };
}

export function passwordResetMessage(to: Recipient, url: string, minutes: number): OutgoingMessage {
  return message(
    to,
    "Reset your Pagoda password",
    [`Someone, hopefully you, asked to reset the password of the Pagoda account ${to.address}.`],
    { label: "Choose a new password", url },
    [
      `The link works once, for ${minutes} minutes. Setting a new password signs you out everywhere else.`,
      "If you did not ask for this, ignore this message: your password stays as it is.",
    ],
  );
}

export function verificationMessage(to: Recipient, url: string, hours: number): OutgoingMessage {
  return message(
    to,
    "Confirm your email address for Pagoda",
    [`Confirm that ${to.address} is your address, so that Pagoda can reach you about your account.`],
    { label: "Confirm my address", url },
    [`The link works once, for ${hours} hours.`, "If you did not create a Pagoda account, ignore this message."],
  );
}

export function emailChangeMessage(to: Recipient, from: string, url: string, minutes: number): OutgoingMessage {
  return message(
    to,
    "Confirm the new email address of your Pagoda account",
    [`Someone, hopefully you, asked to move the Pagoda account ${safeAddress(from)} to this address, ${to.address}.`],
    { label: "Use this address", url },
    [
      `The link works once, for ${minutes} minutes, and only while you are signed in to that account.`,
      "If you did not ask for this, ignore this message: nothing changes.",
    ],
  );
}

export function emailChangedNotice(to: Recipient, newAddress: string, url: string): OutgoingMessage {
  return message(
    to,
    "The email address of your Pagoda account was changed",
    [`The Pagoda account that used ${to.address} now uses ${safeAddress(newAddress)}. Messages about the account go there from now on.`],
    { label: "Open Pagoda", url },
    ["If you did not make this change, someone else may be using your account: tell the people who run this Pagoda server."],
  );
}

/** An owner's invitation. Names come from other people, so they are cleaned like a recipient's before reaching the subject or the body. */
export function invitationMessage(to: Recipient, invite: { workspace: string; inviter: string; role: string }, url: string, days: number): OutgoingMessage {
  const workspace = safeDisplayName(invite.workspace) || "a workspace";
  const inviter = safeDisplayName(invite.inviter) || "An owner";
  return message(
    to,
    `${inviter} invited you to ${workspace} on Pagoda`,
    [`${inviter} invited ${to.address} to join the Pagoda workspace “${workspace}” as ${invite.role === "owner" ? "an owner" : `a ${invite.role}`}.`],
    { label: "See the invitation", url },
    [
      `The link works once, for ${days} days. You join with an account that uses this address; if you have none, you can create it from the link.`,
      "If you do not know this person, ignore this message: nothing happens.",
    ],
  );
}
