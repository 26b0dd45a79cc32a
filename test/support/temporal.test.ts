import { Client, Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { searchAttributes } from '../../workflows/search-attributes';

describe('shared Temporal dev server', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('answers workflow listings', async () => {
    const client = new Client({ connection });
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query: 'WorkflowType = "noSuchWorkflow"' })) ids.push(wf.workflowId);
    expect(ids).toEqual([]);
  });

  it('has every search attribute of workflows/search-attributes.ts', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of searchAttributes) {
      expect(customAttributes?.[key.name], key.name).toBe(encodeSearchAttributeIndexedValueType(key.type));
    }
  });
});
