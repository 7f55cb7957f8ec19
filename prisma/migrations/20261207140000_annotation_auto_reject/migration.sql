-- rejectThreshold "auto" on an annotation job: the runner chooses a threshold per predicted type
-- from the query's own confidences (libs/federation/src/outlier-rejection.ts).
ALTER TABLE "AnnotationJob" ADD COLUMN "autoReject" BOOLEAN NOT NULL DEFAULT false;
