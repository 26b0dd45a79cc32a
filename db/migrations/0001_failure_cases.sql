ALTER TABLE "failures" ADD COLUMN "case_state" text;--> statement-breakpoint
ALTER TABLE "failures" ADD COLUMN "replay_requested_at" timestamp with time zone;