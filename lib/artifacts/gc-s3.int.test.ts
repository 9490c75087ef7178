import { artifactCollectionSuite } from "./gc-suite";
import { startTestS3, TEST_S3_CREDENTIALS, type TestS3Server } from "./s3-test-server";

const BUCKET = "pagoda-gc";
let server: TestS3Server | undefined;

artifactCollectionSuite("s3", {
  async setUp() {
    server = await startTestS3(BUCKET);
    Object.assign(process.env, {
      PAGODA_ARTIFACT_DRIVER: "s3",
      PAGODA_S3_BUCKET: BUCKET,
      PAGODA_S3_PREFIX: "artifacts",
      PAGODA_S3_REGION: "us-east-1",
      PAGODA_S3_ENDPOINT: server.endpoint,
      PAGODA_S3_FORCE_PATH_STYLE: "true",
      PAGODA_S3_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      PAGODA_S3_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
    });
  },
  async tearDown() {
    server?.stop();
  },
});
