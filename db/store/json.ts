import { sql } from 'drizzle-orm';
import type { FieldValue } from '../../sync/types';

export type Fields = Record<string, FieldValue>;

/** Rows passed as one jsonb parameter: set-based statements read them with jsonb_to_recordset. */
export const jsonRows = (rows: unknown[]) => sql`${JSON.stringify(rows)}::jsonb`;
