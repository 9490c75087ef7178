-- CreateTable
CREATE TABLE "Artifact" (
    "digest" VARCHAR(71) NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "unreferencedSince" TIMESTAMP(3),

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("digest")
);

-- CreateTable
CREATE TABLE "ArtifactHold" (
    "tenantId" TEXT NOT NULL,
    "digest" VARCHAR(71) NOT NULL,
    "releasedAt" TIMESTAMP(3),

    CONSTRAINT "ArtifactHold_pkey" PRIMARY KEY ("tenantId","digest")
);

-- CreateIndex
CREATE INDEX "Artifact_unreferencedSince_idx" ON "Artifact"("unreferencedSince");

-- CreateIndex
CREATE INDEX "ArtifactHold_digest_idx" ON "ArtifactHold"("digest");

-- AddForeignKey
ALTER TABLE "ArtifactHold" ADD CONSTRAINT "ArtifactHold_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ArtifactHold" ADD CONSTRAINT "ArtifactHold_digest_fkey" FOREIGN KEY ("digest") REFERENCES "Artifact"("digest") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every artifact the existing deploys name, charged to the tenants whose
-- deploys name it. Blobs of sites deleted before this migration have no
-- deploy left and are not known here.
INSERT INTO "Artifact" ("digest", "sizeBytes")
SELECT "digest", COALESCE(MAX("sizeBytes"), 0) FROM "Deploy" WHERE "digest" IS NOT NULL GROUP BY "digest";

INSERT INTO "ArtifactHold" ("tenantId", "digest")
SELECT DISTINCT s."tenantId", d."digest" FROM "Deploy" d JOIN "Site" s ON s."id" = d."siteId" WHERE d."digest" IS NOT NULL;
