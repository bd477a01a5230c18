-- Jobs name the process that runs them and keep a heartbeat, so that a server starting on a shared Postgres fails
-- only the orphans of stopped processes (src/services/job.service.ts). Generated with `prisma migrate diff`.
-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "heartbeatAt" TIMESTAMP(3),
ADD COLUMN     "owner" TEXT;
