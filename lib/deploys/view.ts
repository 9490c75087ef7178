import "server-only";
import type { Deploy, DeployState } from "@/lib/generated/prisma/client";

export interface DeployView {
  id: string;
  digest: string | null;
  shortDigest: string | null;
  sizeBytes: number | null;
  fileCount: number | null;
  state: DeployState;
  error: string | null;
  createdAt: string;
  /** This is the deploy the site was last pointed at. */
  isTarget: boolean;
}

export function toDeployView(deploy: Deploy, targetDeployId: string | null): DeployView {
  return {
    id: deploy.id,
    digest: deploy.digest,
    shortDigest: deploy.digest ? deploy.digest.slice("sha256:".length, "sha256:".length + 12) : null,
    sizeBytes: deploy.sizeBytes === null ? null : Number(deploy.sizeBytes),
    fileCount: deploy.fileCount,
    state: deploy.state,
    error: deploy.error,
    createdAt: deploy.createdAt.toISOString(),
    isTarget: deploy.id === targetDeployId,
  };
}
