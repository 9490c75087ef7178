-- AlterTable
ALTER TABLE "Deploy" ADD COLUMN "redirectsText" TEXT,
ADD COLUMN "headersText" TEXT;

-- The parser's file limit (256 KiB); every deploy row is written after that check, so this only stops a writer that skips it.
ALTER TABLE "Deploy" ADD CONSTRAINT "Deploy_rules_text_length_check" CHECK (octet_length("redirectsText") <= 262144 AND octet_length("headersText") <= 262144);
