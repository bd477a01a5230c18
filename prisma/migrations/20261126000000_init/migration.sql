-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "vector";

-- CreateEnum
CREATE TYPE "LinkStatus" AS ENUM ('PROPOSED', 'CONFIRMED', 'REJECTED');

-- CreateEnum
CREATE TYPE "JobState" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "Slide" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Slide_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComirModel" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "dir" TEXT NOT NULL,
    "manifest" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ComirModel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Modality" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "channels" INTEGER NOT NULL DEFAULT 1,
    "normalization" TEXT NOT NULL DEFAULT 'linear',
    "comirModelId" INTEGER,
    "comirNetwork" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Modality_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Image" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "slideId" INTEGER,
    "modalityId" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "channels" INTEGER NOT NULL,
    "bitDepth" INTEGER NOT NULL,
    "format" TEXT NOT NULL,
    "page" INTEGER NOT NULL DEFAULT 0,
    "byteSize" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Image_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Representation" (
    "id" SERIAL NOT NULL,
    "imageId" INTEGER NOT NULL,
    "modelName" TEXT NOT NULL,
    "modelVersion" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Representation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vocabulary" (
    "id" SERIAL NOT NULL,
    "space" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "dim" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "centroids" BYTEA NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'building',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Vocabulary_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Histogram" (
    "id" SERIAL NOT NULL,
    "imageId" INTEGER NOT NULL,
    "vocabularyId" INTEGER NOT NULL,
    "x" INTEGER,
    "y" INTEGER,
    "w" INTEGER,
    "h" INTEGER,
    "bow" sparsevec,
    "nFeatures" INTEGER NOT NULL DEFAULT 0,
    "wordMap" BYTEA,
    "grid" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Histogram_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Link" (
    "id" SERIAL NOT NULL,
    "sourceId" INTEGER NOT NULL,
    "targetImageId" INTEGER,
    "targetSlideId" INTEGER,
    "transform" DOUBLE PRECISION[],
    "region" JSONB,
    "score" DOUBLE PRECISION,
    "method" TEXT NOT NULL,
    "status" "LinkStatus" NOT NULL DEFAULT 'PROPOSED',
    "createdBy" TEXT,
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "state" "JobState" NOT NULL DEFAULT 'QUEUED',
    "done" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "params" JSONB NOT NULL DEFAULT '{}',
    "result" JSONB,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Slide_name_key" ON "Slide"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ComirModel_name_version_key" ON "ComirModel"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "Modality_name_key" ON "Modality"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Image_sha256_key" ON "Image"("sha256");

-- CreateIndex
CREATE INDEX "Image_modalityId_id_idx" ON "Image"("modalityId", "id");

-- CreateIndex
CREATE INDEX "Image_slideId_id_idx" ON "Image"("slideId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Representation_imageId_modelVersion_key" ON "Representation"("imageId", "modelVersion");

-- CreateIndex
CREATE INDEX "Vocabulary_space_id_idx" ON "Vocabulary"("space", "id");

-- CreateIndex
CREATE INDEX "Histogram_vocabularyId_imageId_idx" ON "Histogram"("vocabularyId", "imageId");

-- CreateIndex
CREATE INDEX "Histogram_imageId_idx" ON "Histogram"("imageId");

-- CreateIndex
CREATE INDEX "Link_sourceId_idx" ON "Link"("sourceId");

-- CreateIndex
CREATE INDEX "Link_targetImageId_idx" ON "Link"("targetImageId");

-- CreateIndex
CREATE INDEX "Link_targetSlideId_idx" ON "Link"("targetSlideId");

-- AddForeignKey
ALTER TABLE "Modality" ADD CONSTRAINT "Modality_comirModelId_fkey" FOREIGN KEY ("comirModelId") REFERENCES "ComirModel"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Image" ADD CONSTRAINT "Image_slideId_fkey" FOREIGN KEY ("slideId") REFERENCES "Slide"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Image" ADD CONSTRAINT "Image_modalityId_fkey" FOREIGN KEY ("modalityId") REFERENCES "Modality"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Representation" ADD CONSTRAINT "Representation_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Histogram" ADD CONSTRAINT "Histogram_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Histogram" ADD CONSTRAINT "Histogram_vocabularyId_fkey" FOREIGN KEY ("vocabularyId") REFERENCES "Vocabulary"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Link" ADD CONSTRAINT "Link_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Link" ADD CONSTRAINT "Link_targetImageId_fkey" FOREIGN KEY ("targetImageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Link" ADD CONSTRAINT "Link_targetSlideId_fkey" FOREIGN KEY ("targetSlideId") REFERENCES "Slide"("id") ON DELETE CASCADE ON UPDATE CASCADE;

