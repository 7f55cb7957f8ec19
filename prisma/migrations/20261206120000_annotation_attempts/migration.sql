-- How many runners have claimed an annotation job. A job found 'running' when a runner picks it
-- up lost its previous runner (api killed, child process killed); it is tried at most twice.
ALTER TABLE "AnnotationJob" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;
