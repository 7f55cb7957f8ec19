-- Model-version retention: the aggregator keeps the final model, every k-th round
-- (Federation.options.checkpointEvery) and the latest round; a consortium admin can pin any other
-- stored version so that it is never deleted.
ALTER TABLE "ModelVersion" ADD COLUMN "pinned" BOOLEAN NOT NULL DEFAULT false;
