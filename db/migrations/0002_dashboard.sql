CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"workspace_id" text NOT NULL,
	"api_key_id" text NOT NULL,
	"csrf_token" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sessions_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "excluded_by" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sessions_expiry" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "failures_unresolved" ON "failures" USING btree ("connection_id","side","ext_id") WHERE "failures"."resolved_at" IS NULL;--> statement-breakpoint
CREATE INDEX "records_excluded" ON "records" USING btree ("connection_id","side","ext_id") WHERE "records"."excluded_by" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "records_pending" ON "records" USING btree ("connection_id","side","ext_id") WHERE "records"."dirty";--> statement-breakpoint
CREATE INDEX "records_no_email" ON "records" USING btree ("connection_id","side","ext_id") WHERE cardinality("records"."emails") = 0;