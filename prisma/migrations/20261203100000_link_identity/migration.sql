-- Linking is idempotent per (source, target, region) (issue 23, docs/adr/0017): a unique index on the source, the
-- target image and the md5 of the stored region's jsonb text ('' when there is none) lets a second identical
-- linkAcquisition, also one racing the first, find the first link instead of adding a row. An expression index, not
-- expressible in the Prisma schema (like "Modality_name_lower_key"); LinkRepository.findSame uses the same expression.
--
-- A database may already hold such duplicates (the issue found one CONFIRMED and two PROPOSED links for one pair).
-- Of each group one link stays: a decided one before a PROPOSED one, the latest decision first, then the oldest. The
-- others are removed; their creation and decisions stay in the append-only audit trail ("AuditEvent").
DELETE FROM "Link" AS l
USING (
  SELECT "id", row_number() OVER (
    PARTITION BY "sourceId", "targetImageId", md5(COALESCE("region"::text, ''))
    ORDER BY ("status" <> 'PROPOSED') DESC, "decidedAt" DESC NULLS LAST, "id" ASC
  ) AS rn
  FROM "Link"
) AS d
WHERE l."id" = d."id" AND d.rn > 1;

-- CreateIndex
CREATE UNIQUE INDEX "Link_source_target_region_key" ON "Link"("sourceId", "targetImageId", md5(COALESCE("region"::text, '')));

-- The review and dashboard queries (links(filter: { status, ... }), linkCounts) filter and group by status.
-- CreateIndex
CREATE INDEX "Link_status_idx" ON "Link"("status");
