-- Jobs go through a queue (docs/adr/0023): attempts with a limit (the last failure is the dead letter), cancellation
-- asked of a running job, and whether the job is queued (any worker may run it) or a closure of its process.
ALTER TYPE "JobState" ADD VALUE 'CANCELLED';
ALTER TABLE "Job" ADD COLUMN "queued" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Job" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Job" ADD COLUMN "maxAttempts" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "Job" ADD COLUMN "cancelRequestedAt" TIMESTAMP(3);
