-- Modality names are case-insensitive (issue 19 part 5): `BF` and `bf` are one modality. A unique index on lower(name)
-- (an expression index, not expressible in the Prisma schema) refuses a second spelling for every client, and lets
-- `INSERT ... ON CONFLICT DO NOTHING` create a modality once when two ingestions race to create it.
-- A database that already holds two spellings of one name cannot take the index: stop with the names to merge, rather
-- than with Postgres' bare "could not create unique index".
DO $$
DECLARE
  dups TEXT;
BEGIN
  SELECT string_agg(names, '; ') INTO dups FROM (
    SELECT string_agg(quote_literal("name"), ', ' ORDER BY "name") AS names
    FROM "Modality" GROUP BY lower("name") HAVING count(*) > 1
  ) d;
  IF dups IS NOT NULL THEN
    RAISE EXCEPTION 'modality names differ only in case (%): rename or merge them, then start again', dups;
  END IF;
END;
$$;

-- CreateIndex
CREATE UNIQUE INDEX "Modality_name_lower_key" ON "Modality"(lower("name"));
