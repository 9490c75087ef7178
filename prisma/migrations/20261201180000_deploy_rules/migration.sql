-- AlterTable
ALTER TABLE "Deploy" ADD COLUMN "redirectsText" TEXT,
ADD COLUMN "headersText" TEXT;
