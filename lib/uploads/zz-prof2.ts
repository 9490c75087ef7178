import { processUpload } from "./process";
import { DEFAULT_UPLOAD_LIMITS } from "./limits";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
async function main() {
  const s = performance.now();
  const r = await processUpload(process.argv[2]!, DEFAULT_UPLOAD_LIMITS, new FsArtifactStore("/tmp/prof-store"));
  console.log("process", performance.now() - s, r.fileCount);
}
main();
