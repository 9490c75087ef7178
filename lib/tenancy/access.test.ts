import { describe, expect, it } from "vitest";
import { ForbiddenError } from "@/lib/errors";
import { abilitiesOf, requireOwner, requireRole, roleAtLeast, type TenantActor } from "@/lib/tenancy/access";

const actor = (role: TenantActor["role"], token = false): TenantActor => ({
  userId: token ? null : "u1",
  tenantId: "t1",
  tenantSlug: "acme",
  role,
  ...(token ? { token: { id: "k1", publicId: "p", name: "ci", scopes: ["read", "deploy"], client: "api" as const } } : {}),
});

function refusal(work: () => void): ForbiddenError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ForbiddenError);
    return error as ForbiddenError;
  }
  throw new Error("expected a refusal");
}

describe("roles", () => {
  it("orders owner over member over viewer", () => {
    expect(roleAtLeast("owner", "member")).toBe(true);
    expect(roleAtLeast("member", "member")).toBe(true);
    expect(roleAtLeast("viewer", "member")).toBe(false);
    expect(roleAtLeast("member", "owner")).toBe(false);
    expect(roleAtLeast("viewer", "viewer")).toBe(true);
  });

  it("refuses with role_required, naming the role needed and the caller's own", () => {
    expect(refusal(() => requireRole(actor("viewer"), "member"))).toMatchObject({
      code: "role_required",
      message: "Only members and owners of this workspace can do this. You are a viewer: ask an owner if you need it.",
    });
    expect(refusal(() => requireOwner(actor("member")))).toMatchObject({
      code: "role_required",
      message: "Only owners of this workspace can do this. You are a member: ask an owner if you need it.",
    });
    expect(() => requireRole(actor("member"), "member")).not.toThrow();
    expect(() => requireOwner(actor("owner"))).not.toThrow();
  });

  it("never takes an API token for an owner, whatever its scopes", () => {
    expect(refusal(() => requireOwner(actor("owner", true)))).toMatchObject({ code: "token_not_allowed" });
    expect(() => requireRole(actor("member", true), "member")).not.toThrow();
  });

  it("tells pages what to offer", () => {
    expect(abilitiesOf(actor("owner"))).toEqual({ change: true, administer: true });
    expect(abilitiesOf(actor("member"))).toEqual({ change: true, administer: false });
    expect(abilitiesOf(actor("viewer"))).toEqual({ change: false, administer: false });
    expect(abilitiesOf(actor("member", true))).toEqual({ change: true, administer: false });
  });
});
