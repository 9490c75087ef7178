import { describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import { podProblem, podWaitReason } from "./status";
import { DIGEST_A, makePod } from "./test-fixtures";
import { trimObject, trimPod } from "./cache-trim";

function fullPod(status: V1Pod["status"]): V1Pod {
  const pod = makePod(status);
  pod.metadata = { ...pod.metadata, managedFields: [{ manager: "kube-controller-manager", operation: "Update" }] };
  pod.spec = {
    ...pod.spec,
    containers: [{ name: "nginx", image: "nginx", volumeMounts: [{ name: "site", mountPath: "/usr/share/nginx/html" }] }],
    volumes: [{ name: "site", emptyDir: {} }],
  };
  return pod;
}

describe("cache trimming", () => {
  it("drops managedFields in a copy, leaving the object it was given alone", () => {
    const pod = fullPod({});
    const trimmed = trimObject(pod);
    expect(trimmed.metadata?.managedFields).toBeUndefined();
    expect(trimmed.metadata?.name).toBe(pod.metadata?.name);
    expect(pod.metadata?.managedFields).toHaveLength(1);
  });

  it("keeps of a Pod what status derivation reads", () => {
    const statuses: V1Pod["status"][] = [
      {
        initContainerStatuses: [
          {
            name: "fetch",
            image: "busybox",
            imageID: "",
            ready: false,
            restartCount: 2,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { exitCode: 1, message: "digest mismatch" } },
          },
        ],
      },
      { initContainerStatuses: [{ name: "fetch", image: "busybox", imageID: "", ready: false, restartCount: 0, state: { running: {} } }] },
      { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "no nodes available" }] },
      {
        containerStatuses: [{ name: "nginx", image: "nginx", imageID: "", ready: false, restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } } }],
      },
    ];
    for (const status of statuses) {
      const full = fullPod(status);
      const trimmed = trimPod(full);
      expect(trimmed.spec?.volumes).toBeUndefined();
      expect(trimmed.metadata?.managedFields).toBeUndefined();
      expect(full.spec?.volumes).toHaveLength(1);
      expect(podProblem([trimmed], DIGEST_A)).toEqual(podProblem([fullPod(status)], DIGEST_A));
      expect(podWaitReason([trimmed], DIGEST_A)).toEqual(podWaitReason([fullPod(status)], DIGEST_A));
    }
  });
});
