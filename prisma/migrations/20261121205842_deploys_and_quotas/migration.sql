-- AlterTable
ALTER TABLE "Deploy" ADD COLUMN     "liveAt" TIMESTAMP(3),
ADD COLUMN     "promotedAt" TIMESTAMP(3),
ADD COLUMN     "uncompressedBytes" BIGINT;

-- AlterTable
ALTER TABLE "Site" ADD COLUMN     "targetDeployId" TEXT;

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "maxArchiveBytes" BIGINT,
ADD COLUMN     "maxFiles" INTEGER,
ADD COLUMN     "maxSites" INTEGER,
ADD COLUMN     "maxStoredBytes" BIGINT;

-- CreateIndex
CREATE UNIQUE INDEX "Site_targetDeployId_key" ON "Site"("targetDeployId");

-- AddForeignKey
ALTER TABLE "Site" ADD CONSTRAINT "Site_targetDeployId_fkey" FOREIGN KEY ("targetDeployId") REFERENCES "Deploy"("id") ON DELETE SET NULL ON UPDATE CASCADE;
