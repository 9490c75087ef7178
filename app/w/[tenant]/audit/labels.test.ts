import { describe, expect, it } from "vitest";
import { actionLabel, detailPairs, eventLabel } from "./labels";

describe("audit page wording", () => {
  it("words known actions and shows unknown ones as recorded", () => {
    expect(actionLabel("deploy.promote")).toBe("promoted a deploy");
    expect(actionLabel("something.new")).toBe("something.new");
  });

  it("says how a sign-in was made", () => {
    expect(eventLabel("user.signin", { method: "oidc", issuer: "https://idp.test" })).toBe("signed in by single sign-on");
    expect(eventLabel("user.signin", null)).toBe("signed in");
    expect(eventLabel("user.password_reset", { method: "oidc" })).toBe("reset their password by email");
    expect(eventLabel("user.signin", ["oidc"])).toBe("signed in");
  });

  it("shows details as short pairs, without the token fields shown elsewhere", () => {
    expect(detailPairs({ deployId: "d1", tokenId: "t", tokenName: "ci", scopes: ["read"], long: "y".repeat(500) })).toEqual([
      ["deployId", "d1"],
      ["scopes", '["read"]'],
      ["long", `${"y".repeat(159)}…`],
    ]);
    expect(detailPairs(null)).toEqual([]);
    expect(detailPairs([1, 2])).toEqual([["value", "[1,2]"]]);
  });
});
