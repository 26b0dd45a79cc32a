CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "conflicts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"a_id" text NOT NULL,
	"b_id" text NOT NULL,
	"field_a" text NOT NULL,
	"field_b" text NOT NULL,
	"value_a" jsonb,
	"value_b" jsonb,
	"winner" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"app_a" text NOT NULL,
	"app_b" text NOT NULL,
	"scope_a" jsonb NOT NULL,
	"scope_b" jsonb NOT NULL,
	"options_a" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"options_b" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credentials_a" text NOT NULL,
	"credentials_b" text NOT NULL,
	"settings" jsonb NOT NULL,
	"state" text DEFAULT 'initial-scan' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"side" text,
	"kind" text NOT NULL,
	"ext_id" text,
	"contact_name" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"side" text NOT NULL,
	"ext_id" text NOT NULL,
	"target_id" text,
	"step" text NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"status" integer,
	"code" text,
	"contact_name" text,
	"contact_email" text,
	"attempts" integer DEFAULT 1 NOT NULL,
	"first_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "links" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"a_id" text NOT NULL,
	"b_id" text NOT NULL,
	"baseline_a" jsonb,
	"baseline_b" jsonb,
	"state" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"kind" text NOT NULL,
	"target" text,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "records" (
	"connection_id" text NOT NULL,
	"side" text NOT NULL,
	"ext_id" text NOT NULL,
	"version" text NOT NULL,
	"fields" jsonb NOT NULL,
	"emails" text[] DEFAULT '{}'::text[] NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"dirty" boolean DEFAULT true NOT NULL,
	"scan_id" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "records_connection_id_side_ext_id_pk" PRIMARY KEY("connection_id","side","ext_id")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conflicts_connection" ON "conflicts" USING btree ("connection_id","at");--> statement-breakpoint
CREATE INDEX "events_connection" ON "events" USING btree ("connection_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "failures_contact" ON "failures" USING btree ("connection_id","side","ext_id","step");--> statement-breakpoint
CREATE UNIQUE INDEX "links_a" ON "links" USING btree ("connection_id","a_id");--> statement-breakpoint
CREATE UNIQUE INDEX "links_b" ON "links" USING btree ("connection_id","b_id");--> statement-breakpoint
CREATE INDEX "operations_batch" ON "operations" USING btree ("connection_id","batch_id","status");--> statement-breakpoint
CREATE INDEX "records_dirty" ON "records" USING btree ("connection_id","dirty");--> statement-breakpoint
CREATE INDEX "records_emails" ON "records" USING gin ("emails");