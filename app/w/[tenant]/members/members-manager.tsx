"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";
import type { InvitationView, MemberView } from "@/lib/api/member-schemas";

const ROLES = ["owner", "member", "viewer"] as const;
type Role = (typeof ROLES)[number];

const ROLE_HINTS: Record<Role, string> = {
  owner: "everything, including members, tokens and deleting",
  member: "sites and deploys",
  viewer: "reads only",
};

/** The same text on the server and in the browser, whatever the viewer's time zone. */
function day(iso: string) {
  return <time dateTime={iso}>{iso.slice(0, 10)}</time>;
}

function RoleSelect({ id, value, onChange, disabled }: { id: string; value: Role; onChange: (role: Role) => void; disabled?: boolean }) {
  return (
    <select
      id={id}
      name={id}
      value={value}
      disabled={disabled}
      onChange={(event) => onChange(event.target.value as Role)}
      className="rounded-md border-0 px-2 py-1.5 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
    >
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </select>
  );
}

export function MembersManager({ tenant, me, members, invitations }: { tenant: string; me: string; members: MemberView[]; invitations: InvitationView[] }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function run(key: string, work: () => Promise<{ ok: boolean; error?: { message: string; fields: Record<string, string> } }>, done?: string) {
    setBusy(key);
    setError(null);
    setNotice(null);
    const result = await work();
    setBusy(null);
    if (!result.ok) {
      setError(result.error?.message ?? "That did not work.");
      return false;
    }
    if (done) setNotice(done);
    router.refresh();
    return true;
  }

  async function onInvite(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFieldErrors({});
    setBusy("invite");
    setError(null);
    setNotice(null);
    const result = await callApi<{ invitation: InvitationView }>("POST", `/api/tenants/${tenant}/invitations`, { email, role });
    setBusy(null);
    if (!result.ok) {
      setFieldErrors(result.error.fields);
      if (!result.error.fields.email) setError(result.error.message);
      return;
    }
    setNotice(`Invitation sent to ${result.data.invitation.email}.`);
    setEmail("");
    router.refresh();
  }

  return (
    <div className="space-y-6">
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert tone="info">{notice}</Alert> : null}
      <form onSubmit={onInvite} className="flex flex-wrap items-end gap-3" noValidate data-testid="invite-form">
        <div className="min-w-64 flex-1">
          <Field
            id="invite-email"
            label="Invite by email"
            type="email"
            autoComplete="off"
            maxLength={254}
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            error={fieldErrors.email}
          />
        </div>
        <div>
          <label htmlFor="invite-role" className="block text-sm font-medium text-slate-800">
            Role
          </label>
          <div className="mt-1">
            <RoleSelect id="invite-role" value={role} onChange={setRole} />
          </div>
        </div>
        <Button type="submit" disabled={!hydrated || busy !== null} data-testid="invite-submit">
          {busy === "invite" ? "Sending…" : "Send invitation"}
        </Button>
        <p className="w-full text-xs text-slate-500">
          {role}: {ROLE_HINTS[role]}. The link works once, for 7 days.
        </p>
      </form>

      <section aria-labelledby="members-heading">
        <h2 id="members-heading" className="mb-2 text-base font-semibold">
          Members
        </h2>
        <ul className="divide-y divide-slate-200" aria-label="Members">
          {members.map((member) => (
            <li key={member.userId} data-testid="member-row" data-email={member.email} className="flex flex-wrap items-center justify-between gap-2 py-3">
              <div className="min-w-0">
                <p className="text-sm font-medium text-slate-900">
                  {member.name} {member.userId === me ? <span className="text-xs text-slate-500">(you)</span> : null}
                </p>
                <p className="text-xs text-slate-500">
                  {member.email} · joined {day(member.joinedAt)}
                </p>
              </div>
              <div className="flex items-center gap-2">
                <RoleSelect
                  id={`role-${member.userId}`}
                  value={member.role}
                  disabled={!hydrated || busy !== null}
                  onChange={(next) =>
                    void run(
                      `role-${member.userId}`,
                      () => callApi("PATCH", `/api/tenants/${tenant}/members/${member.userId}`, { role: next }),
                      `${member.email} is now ${next === "owner" ? "an owner" : `a ${next}`}.`,
                    )
                  }
                />
                <Button
                  type="button"
                  variant="secondary"
                  disabled={!hydrated || busy !== null}
                  data-testid="member-remove"
                  onClick={() =>
                    void run(
                      `remove-${member.userId}`,
                      () => callApi("DELETE", `/api/tenants/${tenant}/members/${member.userId}`),
                      `${member.email} was removed.`,
                    ).then((ok) => {
                      if (ok && member.userId === me) router.replace("/");
                    })
                  }
                >
                  {member.userId === me ? "Leave" : "Remove"}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="invitations-heading">
        <h2 id="invitations-heading" className="mb-2 text-base font-semibold">
          Pending invitations
        </h2>
        {invitations.length === 0 ? (
          <p className="text-sm text-slate-600">None.</p>
        ) : (
          <ul className="divide-y divide-slate-200" aria-label="Pending invitations">
            {invitations.map((invitation) => (
              <li key={invitation.id} data-testid="invitation-row" className="flex flex-wrap items-center justify-between gap-2 py-3">
                <div>
                  <p className="text-sm font-medium text-slate-900">
                    {invitation.email} <span className="text-xs text-slate-500">as {invitation.role}</span>
                  </p>
                  <p className="text-xs text-slate-500">
                    {invitation.invitedBy ? `by ${invitation.invitedBy} · ` : ""}
                    {invitation.state === "expired" ? <>expired {day(invitation.expiresAt)}</> : <>until {day(invitation.expiresAt)}</>}
                  </p>
                </div>
                <Button
                  type="button"
                  variant="secondary"
                  disabled={!hydrated || busy !== null}
                  data-testid="invitation-revoke"
                  onClick={() =>
                    void run(
                      `revoke-${invitation.id}`,
                      () => callApi("DELETE", `/api/tenants/${tenant}/invitations/${invitation.id}`),
                      `The invitation to ${invitation.email} was withdrawn.`,
                    )
                  }
                >
                  Revoke
                </Button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** For a member or viewer: leaving is the one thing about membership they may do. */
export function LeaveWorkspace({ tenant, me }: { tenant: string; me: string }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  return (
    <div className="space-y-3">
      {error ? <Alert>{error}</Alert> : null}
      <Button
        type="button"
        variant="secondary"
        disabled={!hydrated || pending}
        data-testid="leave-workspace"
        onClick={() => {
          setPending(true);
          void callApi("DELETE", `/api/tenants/${tenant}/members/${me}`).then((result) => {
            setPending(false);
            if (!result.ok) return setError(result.error.message);
            router.replace("/");
            router.refresh();
          });
        }}
      >
        {pending ? "Leaving…" : "Leave this workspace"}
      </Button>
    </div>
  );
}
