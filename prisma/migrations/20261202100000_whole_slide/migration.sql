-- Whole-slide images (issue 18): pyramid levels, pixel size and tiling state on Image; one Tile row per tissue tile with
-- its CoMIR (file store) and box in slide pixels. Written as `prisma migrate diff` writes it.
-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "micronsPerPixel" DOUBLE PRECISION,
ADD COLUMN     "pyramid" JSONB,
ADD COLUMN     "tilingError" TEXT,
ADD COLUMN     "tilingState" TEXT;

-- AlterTable
ALTER TABLE "Embedding" ADD COLUMN     "workingSide" INTEGER;

-- CreateTable
CREATE TABLE "Tile" (
    "id" SERIAL NOT NULL,
    "imageId" INTEGER NOT NULL,
    "modelVersion" TEXT NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "comirWidth" INTEGER NOT NULL,
    "comirHeight" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "tissue" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Tile_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Tile_imageId_modelVersion_x_y_key" ON "Tile"("imageId", "modelVersion", "x", "y");

-- AddForeignKey
ALTER TABLE "Tile" ADD CONSTRAINT "Tile_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;
