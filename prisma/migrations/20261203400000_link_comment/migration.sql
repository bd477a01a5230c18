-- A reviewer's comment with a link's latest decision (setLinkStatus; the dashboard's review queue, issue 20).
ALTER TABLE "Link" ADD COLUMN "comment" TEXT;
