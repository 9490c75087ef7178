/** How the audit page words an action; an action it does not know yet is shown as recorded. */
const ACTION_LABELS: Record<string, string> = {
  "user.signup": "signed up",
  "user.signin": "signed in",
  "user.password_change": "changed their password",
  "user.signout_everywhere": "signed out everywhere",
  "user.password_reset": "reset their password by email",
  "user.session_end": "ended a session",
  "user.email_change_request": "asked to change their email address",
  "user.email_change": "changed their email address",
  "user.email_verify": "confirmed their email address",
  "user.name_change": "changed their name",
  "oidc.linked": "linked a single sign-on identity",
  "site.create": "created a site",
  "site.delete": "deleted a site",
  "site.settings": "changed a site's settings",
  "deploy.upload": "uploaded a deploy",
  "deploy.promote": "promoted a deploy",
  "deploy.failure_notice": "mailed a deploy-failure notice",
  "token.create": "created an API token",
  "token.revoke": "revoked an API token",
  "member.role_changed": "changed a member's role",
  "member.removed": "removed a member",
  "member.left": "left the workspace",
  "invitation.created": "invited someone",
  "invitation.revoked": "revoked an invitation",
  "invitation.accepted": "accepted an invitation",
  "domain.added": "added a custom domain",
  "domain.verified": "had a custom domain verified",
  "domain.lost": "lost a custom domain's DNS proof",
  "domain.removed": "removed a custom domain",
};

export function actionLabel(action: string): string {
  return ACTION_LABELS[action] ?? action;
}

/** An action worded with what its details add: a sign-in says how it was made. */
export function eventLabel(action: string, details: unknown): string {
  const method = details && typeof details === "object" && !Array.isArray(details) ? (details as Record<string, unknown>).method : undefined;
  if (action === "user.signin" && method === "oidc") return "signed in by single sign-on";
  return actionLabel(action);
}

/** Details as short "key: value" pairs for a table cell; the full JSON is in the export. */
export function detailPairs(details: unknown, maxValue = 160): [string, string][] {
  if (details === null || details === undefined) return [];
  if (typeof details !== "object" || Array.isArray(details)) return [["value", clip(JSON.stringify(details), maxValue)]];
  return Object.entries(details as Record<string, unknown>)
    .filter(([key]) => key !== "tokenId" && key !== "tokenName")
    .map(([key, value]) => [key, clip(typeof value === "string" ? value : JSON.stringify(value), maxValue)]);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
