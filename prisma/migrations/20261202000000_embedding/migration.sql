-- The vector first stage (docs/adr/0011): one row per window of an image's CoMIR, its 64-dimensional vector
-- (src/pipeline/embedding.ts EMBEDDING_PARAMS.grid = 8) in a pgvector column with an HNSW index (cosine). `space` is the
-- representation space and descriptor version the vector was made in; a search reads only its target's. Written by
-- hand as `prisma migrate diff` would write the table; the HNSW index is hand-written (docs/adr/0002).
-- CreateTable
CREATE TABLE "Embedding" (
    "id" SERIAL NOT NULL,
    "imageId" INTEGER NOT NULL,
    "modalityId" INTEGER NOT NULL,
    "space" TEXT NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "side" INTEGER NOT NULL,
    "vec" vector(64) NOT NULL,

    CONSTRAINT "Embedding_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Embedding_imageId_idx" ON "Embedding"("imageId");

-- AddForeignKey
ALTER TABLE "Embedding" ADD CONSTRAINT "Embedding_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written vector index (docs/adr/0002): pgvector's defaults (m 16, ef_construction 64). The modality and space
-- filter is applied during the index scan (pgvector 0.8 iterative scans); no b-tree on them, which the planner would
-- prefer for an exact scan of every row of the modality (measured on PGlite, 20,000 rows: 10 ms against 1.4 ms).
CREATE INDEX "Embedding_vec_hnsw" ON "Embedding" USING hnsw ("vec" vector_cosine_ops);
