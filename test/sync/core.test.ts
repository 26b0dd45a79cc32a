import { describe, expect, it } from 'vitest';
import { brakeCheck } from '../../sync/brake';
import { checkPair, proposeValueMap } from '../../sync/field-catalog';
import { resolveMapping } from '../../sync/effective-mapping';
import { emailKeys } from '../../sync/match';
import type { Operation } from '../../sync/plan-types';
import { compileRules } from '../../sync/rules';
import { connectionSettingsSchema } from '../../sync/settings';
import { validateSettings } from '../../sync/validate';
import { sameValue } from '../../sync/values';
import { apps, catalogA, catalogB, settings } from './fixtures';

const catalogs = { a: catalogA, b: catalogB };

describe('Field mapping', () => {
  it('default pairs are the fields of both catalogs that fill the same canonical slot', () => {
    const pairs = resolveMapping(settings(), apps, catalogs);
    expect(pairs.map((p) => `${p.a}:${p.b}`)).toEqual([
      'first_name:givenName',
      'last_name:familyName',
      'email_1:email',
      'email_2:email2',
      'phone:workPhone',
      'company:org',
      'tags:groups',
    ]);
  });

  it('slots with no partner are not synced; disabled defaults are left out; custom pairs are added', () => {
    const pairs = resolveMapping(
      settings({ mapping: { disabled: ['company:org'], custom: [{ a: 'stage', b: 'status' }] } }),
      apps,
      catalogs,
    );
    const ids = pairs.map((p) => `${p.a}:${p.b}`);
    expect(ids).not.toContain('company:org');
    expect(ids).not.toContain('owner:owner');
    // The engine proposes the value map by label.
    expect(pairs.find((p) => p.a === 'stage')).toEqual({ a: 'stage', b: 'status', direction: 'two-way', valueMap: { hot: 'H', cold: 'C' } });
  });

  it("each pair's direction is clipped to the connection's", () => {
    const pairs = resolveMapping(
      settings({ direction: 'a-to-b', mapping: { custom: [{ a: 'birthday', b: 'created', direction: 'b-to-a' }] } }),
      apps,
      catalogs,
    );
    expect(new Set(pairs.map((p) => p.direction))).toEqual(new Set(['a-to-b']));
    expect(pairs.find((p) => p.a === 'birthday')).toBeUndefined();
  });

  it('A mapping between incompatible types is refused with a message that names both fields and both types', () => {
    expect(checkPair(catalogA.find((f) => f.key === 'stage')!, catalogB.find((f) => f.key === 'created')!)).toBe(
      'Field Stage (picklist) is not compatible with field Created (date)',
    );
    expect(checkPair(catalogA[0], catalogB[0])).toBeNull();
  });

  it('the engine can propose a value map by label', () => {
    expect(proposeValueMap(catalogA.find((f) => f.key === 'stage')!, catalogB.find((f) => f.key === 'status')!)).toEqual({
      map: { hot: 'H', cold: 'C' },
      unmatched: [],
    });
  });

  it('Phones compare by normalized number', () => {
    expect(sameValue('+1 (555) 010-2000', '+15550102000', 'phone')).toBe(true);
    expect(sameValue('+44 (0) 20 7946 0958', '+442079460958', 'phone')).toBe(true);
    expect(sameValue('(555) 010-2000', '+1 555 010 2000', 'phone')).toBe(true);
    expect(sameValue('+1 555 010 2001', '+15550102000', 'phone')).toBe(false);
  });

  it('null, empty string and [] are all empty', () => {
    expect(sameValue(null, '', 'text')).toBe(true);
    expect(sameValue([], null, 'list')).toBe(true);
    expect(sameValue('  ', null, 'text')).toBe(true);
  });
});

describe('Matching key', () => {
  it('every email of the contact, trimmed and lower-cased, once', () => {
    expect(emailKeys({ email_1: ' Ann@X.com ', email_2: 'ann@x.com', first_name: 'a@b.c' }, catalogA)).toEqual(['ann@x.com']);
  });
});

describe('Settings validation', () => {
  it('accepts the defaults', () => {
    expect(validateSettings(settings(), { a: 'sandbox', b: 'sandbox' }, catalogs)).toEqual([]);
  });

  it('refuses unknown fields, naming the setting and the app', () => {
    const s = settings({ rules: { aToB: [{ filter: { field: 'foo', operator: 'equals', value: 'x' } }] } });
    expect(validateSettings(s, { a: 'sandbox', b: 'sandbox' }, catalogs)).toEqual([
      { path: 'rules.aToB[0].filter.field', message: 'unknown field "foo" in Sandbox' },
    ]);
  });

  it('refuses operators invalid for the type', () => {
    const s = settings({
      rules: { bToA: [{ filter: { and: [{ field: 'status', operator: 'contains', value: 'x' }, { field: 'created', operator: 'isEmpty' }] } }] },
    });
    expect(validateSettings(s, apps, catalogs)).toEqual([
      { path: 'rules.bToA[0].filter.and[0].operator', message: 'operator "contains" does not apply to field Status (picklist) in Book' },
    ]);
  });

  it('refuses incompatible mapping pairs and unknown value-map values', () => {
    const s = settings({
      mapping: { custom: [{ a: 'stage', b: 'created' }, { a: 'stage', b: 'status', valueMap: { warm: 'H' } }] },
    });
    expect(validateSettings(s, apps, catalogs)).toEqual([
      { path: 'mapping.custom[0]', message: 'Field Stage (picklist) is not compatible with field Created (date)' },
      { path: 'mapping.custom[1].valueMap.warm', message: '"warm" is not a value of Stage in Crm' },
    ]);
  });

  it('the rules schema refuses an unknown operator', () => {
    const r = connectionSettingsSchema.safeParse({ rules: { aToB: [{ filter: { field: 'x', operator: 'like' } }] } });
    expect(r.success).toBe(false);
  });
});

describe('Rules', () => {
  const fields = { company: 'Acme', tags: ['VIP'], owner: 'jane', email_1: '' };
  const pass = (filter: unknown) =>
    compileRules([connectionSettingsSchema.parse({ rules: { aToB: [{ filter }] } }).rules.aToB![0]], catalogA)(fields).pass;

  it('no rules configured: all contacts pass', () => {
    expect(compileRules(undefined, catalogA)(fields)).toEqual({ pass: true, tags: [] });
    expect(compileRules([], catalogA)(fields).pass).toBe(true);
  });

  it('each operator', () => {
    expect(pass({ field: 'company', operator: 'equals', value: 'acme' })).toBe(true);
    expect(pass({ field: 'company', operator: 'notEquals', value: 'Acme' })).toBe(false);
    expect(pass({ field: 'company', operator: 'contains', value: 'cm' })).toBe(true);
    expect(pass({ field: 'company', operator: 'startsWith', value: 'Ac' })).toBe(true);
    expect(pass({ field: 'email_1', operator: 'isEmpty' })).toBe(true);
    expect(pass({ field: 'company', operator: 'isNotEmpty' })).toBe(true);
    expect(pass({ operator: 'hasTag', value: 'vip' })).toBe(true);
    expect(pass({ operator: 'ownerIs', value: 'Jane' })).toBe(true);
  });

  it('AND / OR groups', () => {
    expect(pass({ and: [{ operator: 'hasTag', value: 'vip' }, { field: 'company', operator: 'equals', value: 'x' }] })).toBe(false);
    expect(pass({ or: [{ operator: 'hasTag', value: 'no' }, { and: [{ field: 'company', operator: 'isNotEmpty' }] }] })).toBe(true);
  });

  it('a contact syncs if any rule matches, and gets the tags of each matching rule', () => {
    const rules = connectionSettingsSchema.parse({
      rules: {
        aToB: [
          { filter: { operator: 'hasTag', value: 'none' }, tags: ['never'] },
          { filter: { operator: 'hasTag', value: 'vip' }, tags: ['VIPs'] },
          { tags: ['all'] },
        ],
      },
    }).rules.aToB;
    expect(compileRules(rules, catalogA)(fields)).toEqual({ pass: true, tags: ['VIPs', 'all'] });
  });
});

describe('Safety brake', () => {
  const del = (i: number): Operation => ({ kind: 'delete', target: 'b', id: `b${i}`, version: '1', link: { a: `a${i}`, b: `b${i}` } });
  const base = { linkedCount: 100, previousCounts: { a: 100, b: 100 }, currentCounts: { a: 100, b: 100 }, share: 0.1 };

  it('a cycle that would trash or delete more than the share of the linked contacts needs confirmation', () => {
    expect(brakeCheck({ ...base, ops: Array.from({ length: 10 }, (_, i) => del(i)) }).needsConfirmation).toBe(false);
    const v = brakeCheck({ ...base, ops: Array.from({ length: 11 }, (_, i) => del(i)) });
    expect(v.needsConfirmation).toBe(true);
    expect(v.destructive).toBe(11);
  });

  it('one side suddenly listing no contacts where it had many needs confirmation', () => {
    const v = brakeCheck({ ...base, ops: [], currentCounts: { a: 100, b: 0 } });
    expect(v).toMatchObject({ needsConfirmation: true, reasons: ['side B lists no contacts where it had 100'] });
  });

  it('unlinks under the "never" policy delete nothing and never brake', () => {
    const ops: Operation[] = Array.from({ length: 50 }, (_, i) => ({ kind: 'unlink', a: `a${i}`, b: `b${i}`, reason: 'deleted-a' }));
    expect(brakeCheck({ ...base, ops }).needsConfirmation).toBe(false);
  });
});
