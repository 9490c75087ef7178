import { describe, expect, it } from "vitest";
import { actionLabel, detailPairs } from "./labels";

describe("audit page wording", () => {
  it("words known actions and shows unknown ones as recorded", () => {
    expect(actionLabel("deploy.promote")).toBe("promoted a deploy");
    expect(actionLabel("something.new")).toBe("something.new");
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
