-- A member sees only its own institution's per-round losses and timings and its own landmark
-- sets; the round-level aggregates (the mean loss, the aggregator's timings) stay visible to all.
-- A consortium admin may let members see every institution's (updateConsortiumSettings).
ALTER TABLE "Consortium" ADD COLUMN "membersSeeInstitutionRounds" BOOLEAN NOT NULL DEFAULT false;
