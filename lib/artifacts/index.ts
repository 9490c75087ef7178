import "server-only";
import path from "node:path";
import { z } from "zod";
import { FsArtifactStore } from "./fs-store";
import { S3ArtifactStore } from "./s3-store";
import type { ArtifactStore } from "./store";

export type { ArtifactStore } from "./store";
export { DigestMismatchError } from "./store";
export { FsArtifactStore } from "./fs-store";
export { S3ArtifactStore, type S3StoreConfig } from "./s3-store";
export { digestFromHex, digestHex, isDigest, type Digest } from "./digest";
export { signArtifactPath, verifyArtifactSignature, type SigningKey } from "./signing";

export const artifactStoreConfigSchema = z.discriminatedUnion("driver", [
  z.object({ driver: z.literal("fs"), root: z.string().min(1) }),
  z.object({
    driver: z.literal("s3"),
    bucket: z.string().min(1),
    prefix: z.string().optional(),
    region: z.string().optional(),
    endpoint: z.url().optional(),
    forcePathStyle: z.boolean().optional(),
    credentials: z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() }).optional(),
  }),
]);

export type ArtifactStoreConfig = z.infer<typeof artifactStoreConfigSchema>;

export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  const parsed = artifactStoreConfigSchema.parse(config);
  switch (parsed.driver) {
    case "fs":
      return new FsArtifactStore(path.resolve(parsed.root));
    case "s3":
      return new S3ArtifactStore(parsed);
  }
}

/**
 * Reads the store config from the environment, for the route and scripts:
 * PAGODA_ARTIFACT_DRIVER=fs  PAGODA_ARTIFACT_ROOT=/var/lib/pagoda/artifacts
 * PAGODA_ARTIFACT_DRIVER=s3  PAGODA_S3_BUCKET, PAGODA_S3_PREFIX, PAGODA_S3_REGION,
 *   PAGODA_S3_ENDPOINT, PAGODA_S3_FORCE_PATH_STYLE=true, PAGODA_S3_ACCESS_KEY_ID,
 *   PAGODA_S3_SECRET_ACCESS_KEY (both omitted: the AWS SDK's default chain).
 */
export function artifactStoreConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ArtifactStoreConfig {
  const driver = env.PAGODA_ARTIFACT_DRIVER ?? "fs";
  if (driver === "s3") {
    const accessKeyId = env.PAGODA_S3_ACCESS_KEY_ID;
    const secretAccessKey = env.PAGODA_S3_SECRET_ACCESS_KEY;
    return artifactStoreConfigSchema.parse({
      driver,
      bucket: env.PAGODA_S3_BUCKET,
      prefix: env.PAGODA_S3_PREFIX,
      region: env.PAGODA_S3_REGION,
      endpoint: env.PAGODA_S3_ENDPOINT,
      forcePathStyle: env.PAGODA_S3_FORCE_PATH_STYLE === "true",
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    });
  }
  return artifactStoreConfigSchema.parse({ driver, root: env.PAGODA_ARTIFACT_ROOT ?? path.resolve(".data/artifacts") });
}
