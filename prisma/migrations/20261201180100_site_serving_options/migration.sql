-- AlterTable
ALTER TABLE "Site" ADD COLUMN     "spa" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "notFoundPage" VARCHAR(256);
