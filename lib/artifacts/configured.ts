import "server-only";
import path from "node:path";
import { getConfig } from "@/lib/config";
import {
  artifactStoreConfigFromEnv,
  createArtifactStore,
  signArtifactPath,
  type ArtifactStore,
  type ArtifactStoreConfig,
  type Digest,
  type SigningKey,
} from "@/lib/artifacts";
import { processSingleton } from "@/lib/process-singleton";

/** Where the process keeps artifacts: the local folder under the data dir unless configured otherwise. */
export function artifactStoreConfig(): ArtifactStoreConfig {
  const env = { ...process.env };
  env.PAGODA_ARTIFACT_ROOT ??= path.resolve(getConfig().PAGODA_DATA_DIR, "artifacts");
  return artifactStoreConfigFromEnv(env);
}

/** The process's artifact store, made from artifactStoreConfig(). */
export function artifactStore(): ArtifactStore {
  return processSingleton("artifactStore", () => createArtifactStore(artifactStoreConfig()));
}

export function signingKey(): SigningKey {
  const config = getConfig();
  return { id: config.PAGODA_ARTIFACT_KEY_ID, secret: config.PAGODA_ARTIFACT_SECRET };
}

/** The URL a site's pods fetch an artifact from; it carries its own signature. */
export function signedArtifactUrl(digest: Digest): string {
  const config = getConfig();
  const base = config.PAGODA_ARTIFACT_BASE_URL ?? config.NEXTAUTH_URL;
  return new URL(signArtifactPath(digest, signingKey()), base).toString();
}
