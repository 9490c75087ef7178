import { beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { UnavailableError } from "@/lib/errors";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { addDomain } from "./domains";

/** An installation that has not said where custom domains must point refuses them, and writes nothing. */
delete process.env.PAGODA_INGRESS_HOSTNAME;
delete process.env.PAGODA_INGRESS_ADDRESSES;

let alice: TenantActor;

beforeAll(async () => {
  ({ actor: alice } = await newAccount("alice"));
  await createSite(alice, { name: "shop" }, null);
});

describe("custom domains without an ingress target", () => {
  it("refuses to add one with domains_not_configured, naming the variables", async () => {
    const before = await db().domain.count({ where: { tenantId: alice.tenantId } });
    const error = await addDomain(alice, "shop", { name: "www.unconfigured.test" }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: "domains_not_configured", message: expect.stringContaining("PAGODA_INGRESS_HOSTNAME") });
    expect(await db().domain.count({ where: { tenantId: alice.tenantId } })).toBe(before);
  });
});
