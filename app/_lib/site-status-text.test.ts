import { describe, expect, it } from "vitest";
import { servingNote, shortDigest } from "./site-status-text";

const OLD = `sha256:${"a".repeat(64)}`;
const NEW = `sha256:${"b".repeat(64)}`;

describe("servingNote", () => {
  it("says nothing more when the message already names what serves (Live, or a rollout that says it)", () => {
    expect(servingNote({ message: `1 of 1 replicas serving ${shortDigest(OLD)}`, readyReplicas: 1, replicas: 1, currentDigest: OLD })).toBeNull();
    expect(
      servingNote({
        message: `0 of 1 replicas updated to ${shortDigest(NEW)}, 1 available; ${shortDigest(OLD)} keeps serving meanwhile`,
        readyReplicas: 1,
        replicas: 2,
        currentDigest: OLD,
      }),
    ).toBeNull();
  });

  it("names the version still serving while the message is about a new deploy", () => {
    expect(servingNote({ message: `Waiting for ${shortDigest(NEW)} to reach the cluster.`, readyReplicas: 2, replicas: 2, currentDigest: OLD })).toBe(
      "sha256:aaaaaaaaaaaa keeps serving on 2 of 2 replicas.",
    );
    expect(servingNote({ message: "The image could not be pulled", readyReplicas: 1, replicas: 1, currentDigest: OLD })).toBe(
      "sha256:aaaaaaaaaaaa keeps serving on 1 of 1 replicas.",
    );
  });

  it("says nothing when nothing serves", () => {
    expect(servingNote({ message: "No deploy is promoted for this site.", readyReplicas: 0, replicas: 0, currentDigest: null })).toBeNull();
    expect(servingNote({ message: "The site is suspended and not serving.", readyReplicas: 0, replicas: 0, currentDigest: OLD })).toBeNull();
  });
});
