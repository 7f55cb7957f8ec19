-- An ensemble's model version holds one landmark set per (model, institution).
ALTER TABLE "LandmarkSet" ADD COLUMN "member" INTEGER NOT NULL DEFAULT 0;

DROP INDEX "LandmarkSet_modelVersionId_institution_key";

CREATE UNIQUE INDEX "LandmarkSet_modelVersionId_member_institution_key" ON "LandmarkSet"("modelVersionId", "member", "institution");
