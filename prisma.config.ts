import { defineConfig } from "prisma/config";

// The datasource URL is read here rather than in the schema (Prisma 7).
// A placeholder keeps `prisma generate` working where no database is set.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/pagoda" },
});
