-- CreateEnum
CREATE TYPE "InstitutionStatus" AS ENUM ('registered', 'certified', 'revoked');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'member');

-- CreateEnum
CREATE TYPE "FederationStatus" AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "RoundStatus" AS ENUM ('training', 'unmasking', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'completed', 'failed');

-- CreateTable
CREATE TABLE "Consortium" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "caCertificatePem" TEXT NOT NULL,
    "caKeySealed" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Consortium_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Institution" (
    "id" UUID NOT NULL,
    "consortiumId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "status" "InstitutionStatus" NOT NULL DEFAULT 'registered',
    "csrPem" TEXT,
    "certificatePem" TEXT,
    "certificateSerial" TEXT,
    "certifiedAt" TIMESTAMPTZ(3),
    "queueUser" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Institution_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessToken" (
    "id" UUID NOT NULL,
    "consortiumId" UUID NOT NULL,
    "institutionId" UUID,
    "role" "Role" NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "label" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "AccessToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dataset" (
    "id" UUID NOT NULL,
    "institutionId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "location" TEXT NOT NULL DEFAULT 'upload',
    "objectKey" TEXT,
    "localPath" TEXT,
    "sha256" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "cells" INTEGER NOT NULL,
    "genes" INTEGER NOT NULL,
    "typeCounts" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Federation" (
    "id" UUID NOT NULL,
    "consortiumId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "FederationStatus" NOT NULL DEFAULT 'pending',
    "options" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "participants" JSONB NOT NULL,
    "genesKey" TEXT,
    "genesSha256" TEXT,
    "geneCount" INTEGER,
    "currentRound" INTEGER NOT NULL DEFAULT 0,
    "keyEpoch" INTEGER NOT NULL DEFAULT 0,
    "state" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Federation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Round" (
    "id" UUID NOT NULL,
    "federationId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "status" "RoundStatus" NOT NULL DEFAULT 'training',
    "participants" TEXT[],
    "survivors" TEXT[],
    "dropouts" TEXT[],
    "losses" JSONB NOT NULL DEFAULT '{}',
    "timings" JSONB NOT NULL DEFAULT '{}',
    "bytesIn" BIGINT NOT NULL DEFAULT 0,
    "bytesOut" BIGINT NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),
    "error" TEXT,

    CONSTRAINT "Round_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" UUID NOT NULL,
    "federationId" UUID,
    "round" INTEGER NOT NULL,
    "parentId" UUID,
    "objectKey" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "backend" TEXT NOT NULL,
    "manifest" JSONB NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'federation',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LandmarkSet" (
    "id" UUID NOT NULL,
    "federationId" UUID,
    "modelVersionId" UUID NOT NULL,
    "institution" TEXT NOT NULL,
    "objectKey" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "types" TEXT[],
    "cellCounts" INTEGER[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LandmarkSet_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AnnotationJob" (
    "id" UUID NOT NULL,
    "institutionId" UUID,
    "consortiumId" UUID NOT NULL,
    "modelVersionId" UUID NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "inputFileName" TEXT NOT NULL,
    "inputKey" TEXT NOT NULL,
    "inputSha256" TEXT NOT NULL,
    "resultKeys" JSONB NOT NULL DEFAULT '{}',
    "summary" JSONB NOT NULL DEFAULT '{}',
    "rejectThreshold" DOUBLE PRECISION,
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "AnnotationJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "consortiumId" UUID,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Consortium_name_key" ON "Consortium"("name");

-- CreateIndex
CREATE INDEX "Institution_consortiumId_idx" ON "Institution"("consortiumId");

-- CreateIndex
CREATE UNIQUE INDEX "Institution_consortiumId_name_key" ON "Institution"("consortiumId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "AccessToken_tokenHash_key" ON "AccessToken"("tokenHash");

-- CreateIndex
CREATE INDEX "AccessToken_consortiumId_idx" ON "AccessToken"("consortiumId");

-- CreateIndex
CREATE INDEX "AccessToken_institutionId_idx" ON "AccessToken"("institutionId");

-- CreateIndex
CREATE INDEX "Dataset_institutionId_idx" ON "Dataset"("institutionId");

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_institutionId_name_key" ON "Dataset"("institutionId", "name");

-- CreateIndex
CREATE INDEX "Federation_consortiumId_idx" ON "Federation"("consortiumId");

-- CreateIndex
CREATE INDEX "Federation_status_idx" ON "Federation"("status");

-- CreateIndex
CREATE UNIQUE INDEX "Round_federationId_number_key" ON "Round"("federationId", "number");

-- CreateIndex
CREATE INDEX "ModelVersion_parentId_idx" ON "ModelVersion"("parentId");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_federationId_round_key" ON "ModelVersion"("federationId", "round");

-- CreateIndex
CREATE UNIQUE INDEX "LandmarkSet_modelVersionId_institution_key" ON "LandmarkSet"("modelVersionId", "institution");

-- CreateIndex
CREATE INDEX "AnnotationJob_consortiumId_idx" ON "AnnotationJob"("consortiumId");

-- CreateIndex
CREATE INDEX "AnnotationJob_institutionId_idx" ON "AnnotationJob"("institutionId");

-- CreateIndex
CREATE INDEX "AuditLog_consortiumId_at_idx" ON "AuditLog"("consortiumId", "at");

-- AddForeignKey
ALTER TABLE "Institution" ADD CONSTRAINT "Institution_consortiumId_fkey" FOREIGN KEY ("consortiumId") REFERENCES "Consortium"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessToken" ADD CONSTRAINT "AccessToken_consortiumId_fkey" FOREIGN KEY ("consortiumId") REFERENCES "Consortium"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessToken" ADD CONSTRAINT "AccessToken_institutionId_fkey" FOREIGN KEY ("institutionId") REFERENCES "Institution"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Dataset" ADD CONSTRAINT "Dataset_institutionId_fkey" FOREIGN KEY ("institutionId") REFERENCES "Institution"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Federation" ADD CONSTRAINT "Federation_consortiumId_fkey" FOREIGN KEY ("consortiumId") REFERENCES "Consortium"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Round" ADD CONSTRAINT "Round_federationId_fkey" FOREIGN KEY ("federationId") REFERENCES "Federation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_federationId_fkey" FOREIGN KEY ("federationId") REFERENCES "Federation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "ModelVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LandmarkSet" ADD CONSTRAINT "LandmarkSet_federationId_fkey" FOREIGN KEY ("federationId") REFERENCES "Federation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LandmarkSet" ADD CONSTRAINT "LandmarkSet_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnnotationJob" ADD CONSTRAINT "AnnotationJob_institutionId_fkey" FOREIGN KEY ("institutionId") REFERENCES "Institution"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnnotationJob" ADD CONSTRAINT "AnnotationJob_consortiumId_fkey" FOREIGN KEY ("consortiumId") REFERENCES "Consortium"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnnotationJob" ADD CONSTRAINT "AnnotationJob_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE NO ACTION ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_consortiumId_fkey" FOREIGN KEY ("consortiumId") REFERENCES "Consortium"("id") ON DELETE CASCADE ON UPDATE CASCADE;
