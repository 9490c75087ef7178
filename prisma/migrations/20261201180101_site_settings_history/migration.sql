-- CreateTable
CREATE TABLE "SiteSettingsChange" (
    "id" TEXT NOT NULL,
    "siteId" TEXT NOT NULL,
    "spa" BOOLEAN NOT NULL,
    "notFoundPage" VARCHAR(256),
    "previousSpa" BOOLEAN NOT NULL,
    "previousNotFoundPage" VARCHAR(256),
    "byName" VARCHAR(80),
    "byToken" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SiteSettingsChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeployHtmlFile" (
    "deployId" TEXT NOT NULL,
    "path" VARCHAR(256) NOT NULL,

    CONSTRAINT "DeployHtmlFile_pkey" PRIMARY KEY ("deployId","path")
);

-- CreateIndex
CREATE INDEX "SiteSettingsChange_siteId_createdAt_idx" ON "SiteSettingsChange"("siteId", "createdAt");

-- AddForeignKey
ALTER TABLE "SiteSettingsChange" ADD CONSTRAINT "SiteSettingsChange_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeployHtmlFile" ADD CONSTRAINT "DeployHtmlFile_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;
