import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { artifactCollectionSuite } from "./gc-suite";

let root = "";

artifactCollectionSuite("fs", {
  async setUp() {
    root = await mkdtemp(path.join(os.tmpdir(), "pagoda-gc-fs-"));
    process.env.PAGODA_ARTIFACT_DRIVER = "fs";
    process.env.PAGODA_ARTIFACT_ROOT = root;
  },
  async tearDown() {
    if (root) await rm(root, { recursive: true, force: true });
  },
});
