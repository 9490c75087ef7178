/** How the audit page words an action; an action it does not know yet is shown as recorded. */
const ACTION_LABELS: Record<string, string> = {
  "user.signup": "signed up",
  "user.signin": "signed in",
  "user.password_change": "changed their password",
  "user.signout_everywhere": "signed out everywhere",
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
