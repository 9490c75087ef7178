-- CreateEnum
CREATE TYPE "ServingMode" AS ENUM ('dedicated', 'shared');

-- AlterTable
ALTER TABLE "Site" ADD COLUMN     "serving" "ServingMode" NOT NULL DEFAULT 'dedicated';

-- AlterTable
ALTER TABLE "SiteSettingsChange" ADD COLUMN     "previousServing" "ServingMode" NOT NULL DEFAULT 'dedicated',
ADD COLUMN     "serving" "ServingMode" NOT NULL DEFAULT 'dedicated';
