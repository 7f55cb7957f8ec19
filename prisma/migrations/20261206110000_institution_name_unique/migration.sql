-- Institution names become unique on the whole platform (they were unique per consortium only):
-- an institution's queue, its Redis ACL user and its storage folder are named after the name
-- alone, so two consortia with one name would share them.
--
-- Existing duplicates cannot be resolved here: renaming a row would orphan the queue, Redis user
-- and stored objects named after it, and deleting one would drop a consortium's data. The
-- migration stops (and is rolled back) naming them; an operator revokes or deletes all but one
-- of each (the API's revokeInstitution, then DELETE), and migrates again.
DO $$
DECLARE
  duplicates TEXT;
BEGIN
  SELECT string_agg(format('"%s" (%s consortia)', name, n), ', ' ORDER BY name)
    INTO duplicates
    FROM (SELECT name, count(DISTINCT "consortiumId") AS n FROM "Institution" GROUP BY name HAVING count(*) > 1) d;
  IF duplicates IS NOT NULL THEN
    RAISE EXCEPTION 'institution names used by more than one consortium: %. They share one queue, '
      'Redis user and storage folder: keep one institution per name (revoke the others, delete '
      'their rows), then run the migrations again.', duplicates;
  END IF;
END $$;

-- CreateIndex
CREATE UNIQUE INDEX "Institution_name_key" ON "Institution"("name");
