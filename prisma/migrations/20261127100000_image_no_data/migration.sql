-- An image may declare the value its file holds where it has no data (a warp's black fill), so that dense
-- correlation leaves that region out (docs/adr/0006). Written by hand as `prisma migrate diff` would write it.
-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "noDataValue" DOUBLE PRECISION;
