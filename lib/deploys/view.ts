import "server-only";
import { getConfig } from "@/lib/config";
import type { Deploy, DeploySource, DeployState } from "@/lib/generated/prisma/client";
import { previewDigests } from "@/lib/publishing/site-inputs";
import { previewUrl } from "@/lib/sites/url";

/** Who sent a deploy: a person, or an API token (by the name it had then, which outlives the token). */
export type DeployCreator = { kind: "user"; name: string } | { kind: "token"; name: string };

export interface DeployView {
  id: string;
  digest: string | null;
  shortDigest: string | null;
  sizeBytes: number | null;
  fileCount: number | null;
  state: DeployState;
  error: string | null;
  message: string | null;
  source: DeploySource;
  /** Null when the account that sent it is gone. */
  createdBy: DeployCreator | null;
  createdAt: string;
  finishedAt: string | null;
  promotedAt: string | null;
  liveAt: string | null;
  /** This is the deploy the site was last pointed at. */
  isTarget: boolean;
  /** Where this deploy answers whether or not it is promoted; null while it has none (processing, older than the site's previews, or a label too long). */
  previewUrl: string | null;
}

/** What a view needs to name a deploy's preview: the site's host label and the digests that have previews now. */
export interface PreviewContext {
  hostLabel: string;
  digests: ReadonlySet<string>;
}

/** A deploy row with its creator's name, as `deployWithCreator` selects it. */
export type DeployRow = Deploy & { createdBy: { name: string } | null };

/** The Prisma `include` that gives a DeployRow. */
export const deployWithCreator = { createdBy: { select: { name: true } } } as const;

function creatorOf(deploy: DeployRow): DeployCreator | null {
  if (deploy.tokenName !== null) return { kind: "token", name: deploy.tokenName };
  if (deploy.createdBy) return { kind: "user", name: deploy.createdBy.name };
  return null;
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

export function toDeployView(deploy: DeployRow, targetDeployId: string | null, previews?: PreviewContext): DeployView {
  return {
    id: deploy.id,
    digest: deploy.digest,
    shortDigest: deploy.digest ? deploy.digest.slice("sha256:".length, "sha256:".length + 12) : null,
    sizeBytes: deploy.sizeBytes === null ? null : Number(deploy.sizeBytes),
    fileCount: deploy.fileCount,
    state: deploy.state,
    error: deploy.error,
    message: deploy.message,
    source: deploy.source,
    createdBy: creatorOf(deploy),
    createdAt: deploy.createdAt.toISOString(),
    finishedAt: iso(deploy.finishedAt),
    promotedAt: iso(deploy.promotedAt),
    liveAt: iso(deploy.liveAt),
    isTarget: deploy.id === targetDeployId,
    previewUrl:
      previews && deploy.digest !== null && deploy.state !== "processing" && previews.digests.has(deploy.digest)
        ? previewUrl(previews.hostLabel, deploy.digest, getConfig())
        : null,
  };
}

/** The preview context of one site, from the same rule the StaticSite's previews are written by. */
export async function previewContextOf(site: { id: string; hostLabel: string }): Promise<PreviewContext> {
  return { hostLabel: site.hostLabel, digests: new Set((await previewDigests([site.id])).get(site.id) ?? []) };
}
