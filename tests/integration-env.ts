import { randomBytes } from "node:crypto";
import { inject } from "vitest";

// Every integration test file sees the run's real database and its own
// throw-away secrets, exactly as the dashboard would at start.
process.env.DATABASE_URL = inject("databaseUrl");
process.env.NEXTAUTH_SECRET ??= randomBytes(32).toString("base64url");
process.env.PAGODA_ARTIFACT_SECRET ??= randomBytes(32).toString("base64url");
process.env.NEXTAUTH_URL ??= "http://localhost:3000";
process.env.PAGODA_SMTP_URL ??= inject("smtpUrl");
