import { describe, expect, it } from 'vitest';
import type { Operation } from '../../sync/plan-types';
import { planBatch } from '../../sync/decide';
import { TRASH_TAG, UNSUBSCRIBES_TAG } from '../../sync/values';
import { agreedLink, context, input, snap } from './fixtures';

const kinds = (ops: Operation[]) => ops.map((o) => o.kind);
const updateOf = (ops: Operation[], target: 'a' | 'b') =>
  ops.find((o): o is Extract<Operation, { kind: 'update' }> => o.kind === 'update' && o.target === target);

describe('Matching (avoid duplicates)', () => {
  it('Key: every email of the contact, trimmed and lower-cased. Two contacts match when they share one', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'x@y.com', email_2: '  ANN@Example.com ' });
    const b = snap('b', 'b1', { givenName: 'Ann', email: 'ann@example.com' });
    const out = planBatch(input(ctx, { changed: [a], related: [b] }));
    expect(out.ops[0]).toMatchObject({ kind: 'link', a: 'a1', b: 'b1' });
    expect(kinds(out.ops)).not.toContain('create');
  });

  it('Exactly one candidate on the other side: link', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { givenName: 'Ann', email: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a, b] }));
    expect(kinds(out.ops)).toEqual(['link']);
    expect(out.ops[0]).toMatchObject({ baselineA: { first_name: 'Ann' }, baselineB: { givenName: 'Ann' } });
  });

  it('More than one: neither link nor create; the contact shows as "ambiguous match" with the candidates', () => {
    const ctx = context();
    const a = snap('a', 'a1', { email_1: 'ann@x.com' });
    const b1 = snap('b', 'b1', { email: 'ann@x.com' });
    const b2 = snap('b', 'b2', { email2: 'ANN@x.com' });
    const out = planBatch(input(ctx, { changed: [a], related: [b1, b2] }));
    expect(out.ops).toEqual([]);
    expect(out.ambiguous).toEqual([{ side: 'a', id: 'a1', candidates: ['b1', 'b2'], email: 'ann@x.com' }]);
  });

  it('both sides of one person in one batch yield one link, never two links or a link and a create', () => {
    const ctx = context();
    const a = snap('a', 'a1', { email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { email: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a, b, a] }));
    expect(kinds(out.ops)).toEqual(['link']);
  });

  it('a candidate that already has a link is no candidate for a second one', () => {
    const ctx = context();
    const a0 = snap('a', 'a0', { email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { email: 'ann@x.com' });
    const a1 = snap('a', 'a1', { email_1: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a1], related: [b, a0], links: [agreedLink(ctx, a0, b)] }));
    expect(out.ops).toEqual([]);
    expect(out.ambiguous).toHaveLength(1);
  });

  it('two same-side contacts sharing a candidate make it ambiguous for both', () => {
    const ctx = context();
    const a1 = snap('a', 'a1', { email_1: 'ann@x.com' });
    const a2 = snap('a', 'a2', { email_2: 'ann@x.com' });
    const b = snap('b', 'b1', { email: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a1, a2, b] }));
    expect(out.ops).toEqual([]);
    expect(out.ambiguous.map((x) => x.id).sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('no candidate: the contact is created on the other side with its emails for crash recovery', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: 'Bob', email_1: 'Bob@X.com', phone: '+1 (555) 010-2000' });
    const out = planBatch(input(ctx, { changed: [a] }));
    expect(out.ops).toEqual([
      expect.objectContaining({
        kind: 'create',
        target: 'b',
        sourceId: 'a1',
        fields: { givenName: 'Bob', email: 'Bob@X.com', workPhone: '+1 (555) 010-2000' },
        emails: ['bob@x.com'],
      }),
    ]);
  });

  it('avoid duplicates on: only contacts with an email sync', () => {
    const out = planBatch(input(context(), { changed: [snap('a', 'a1', { first_name: 'NoMail' })] }));
    expect(out.ops).toEqual([]);
  });

  it('With avoid duplicates off, contacts without email sync too; they are matched by link only', () => {
    const ctx = context({ avoidDuplicates: false });
    const out = planBatch(input(ctx, { changed: [snap('a', 'a1', { first_name: 'NoMail' })] }));
    expect(out.ops).toMatchObject([{ kind: 'create', target: 'b', fields: { givenName: 'NoMail' } }]);
  });

  it('a create respects the connection direction', () => {
    const ctx = context({ direction: 'a-to-b' });
    const out = planBatch(input(ctx, { changed: [snap('b', 'b1', { email: 'z@x.com' })] }));
    expect(out.ops).toEqual([]);
  });
});

describe('Initial sync: matched pairs merge field by field', () => {
  it('equal, nothing; one side empty, fill it from the other; both filled and different, the master app wins', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: 'Ann', last_name: '', email_1: 'ann@x.com', company: 'Acme' });
    const b = snap('b', 'b1', { givenName: 'Annie', familyName: 'Lee', email: 'ANN@x.com', org: null });
    const out = planBatch(input(ctx, { changed: [a], related: [b] }));
    expect(kinds(out.ops)).toEqual(['link', 'update', 'update']);
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ last_name: 'Lee' });
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ givenName: 'Ann', org: 'Acme' });
    expect(out.conflicts).toEqual([]);
  });

  it('an empty value never wipes a filled one, whichever side is master', () => {
    const ctx = context({ master: 'b' });
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { givenName: '', email: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a, b] }));
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ givenName: 'Ann' });
    expect(updateOf(out.ops, 'a')).toBeUndefined();
  });

  it('master B wins differences at the first match', () => {
    const ctx = context({ master: 'b' });
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { givenName: 'Annie', email: 'ann@x.com' });
    const out = planBatch(input(ctx, { changed: [a, b] }));
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ first_name: 'Annie' });
  });

  it('a link whose baseline is null merges as at the first match', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { givenName: 'Annie', familyName: 'Lee', email: 'ann@x.com' });
    const link = { ...agreedLink(ctx, a, b), baselineB: null };
    const out = planBatch(input(ctx, { changed: [a], related: [b], links: [link] }));
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ last_name: 'Lee' });
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ givenName: 'Ann' });
  });
});

describe('Field mapping', () => {
  it('Phones compare by normalized number, so "+1 (555) 010-2000" and "+15550102000" are equal', () => {
    const ctx = context();
    const a = snap('a', 'a1', { email_1: 'ann@x.com', phone: '+1 (555) 010-2000' });
    const b = snap('b', 'b1', { email: 'ann@x.com', workPhone: '+15550102000' });
    expect(kinds(planBatch(input(ctx, { changed: [a, b] })).ops)).toEqual(['link']);
  });

  it('the written value keeps the source formatting', () => {
    const ctx = context();
    const a = snap('a', 'a1', { email_1: 'ann@x.com', phone: '+1 (555) 010-2000' });
    const b = snap('b', 'b1', { email: 'ann@x.com', workPhone: '' });
    expect(updateOf(planBatch(input(ctx, { changed: [a, b] })).ops, 'b')!.fields).toEqual({
      workPhone: '+1 (555) 010-2000',
    });
  });

  it('tags compare as sets, emails case-insensitively, strings trimmed', () => {
    const ctx = context();
    const a = snap('a', 'a1', { first_name: ' Ann ', email_1: 'ANN@x.com', tags: ['b', 'a'] });
    const b = snap('b', 'b1', { givenName: 'Ann', email: 'ann@x.com', groups: ['A', 'b'] });
    expect(kinds(planBatch(input(ctx, { changed: [a, b] })).ops)).toEqual(['link']);
  });

  it('picklists compare and write through the value map', () => {
    const ctx = context({
      mapping: { custom: [{ a: 'stage', b: 'status', valueMap: { hot: 'H', cold: 'C' } }] },
    });
    const a = snap('a', 'a1', { email_1: 'ann@x.com', stage: 'hot' });
    const b = snap('b', 'b1', { email: 'ann@x.com', status: 'H' });
    expect(kinds(planBatch(input(ctx, { changed: [a, b] })).ops)).toEqual(['link']);
    const b2 = snap('b', 'b1', { email: 'ann@x.com', status: null });
    expect(updateOf(planBatch(input(ctx, { changed: [a, b2] })).ops, 'b')!.fields).toEqual({ status: 'H' });
  });

  it('a pair direction limits where values flow', () => {
    const ctx = context({ mapping: { disabled: ['first_name:givenName'], custom: [{ a: 'first_name', b: 'givenName', direction: 'a-to-b' }] } });
    const a = snap('a', 'a1', { first_name: '', email_1: 'ann@x.com' });
    const b = snap('b', 'b1', { givenName: 'Ann', email: 'ann@x.com' });
    expect(kinds(planBatch(input(ctx, { changed: [a, b] })).ops)).toEqual(['link']);
  });
});

describe('Incremental cycles', () => {
  const setup = (overrides: Record<string, unknown> = {}) => {
    const ctx = context(overrides);
    const a = snap('a', 'a1', { first_name: 'Ann', last_name: 'Lee', email_1: 'ann@x.com', company: 'Acme', tags: ['vip'] });
    const b = snap('b', 'b1', { givenName: 'Ann', familyName: 'Lee', email: 'ann@x.com', org: 'Acme', groups: ['vip'] });
    return { ctx, a, b, link: agreedLink(ctx, a, b) };
  };

  it('fields changed on one side only are written to the other', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, version: 'v9', fields: { ...a.fields, company: 'Acme Inc' } };
    const out = planBatch(input(ctx, { changed: [a2], related: [b], links: [link] }));
    expect(out.ops).toEqual([
      expect.objectContaining({
        kind: 'update',
        target: 'b',
        id: 'b1',
        fields: { org: 'Acme Inc' },
        baseline: expect.objectContaining({ org: 'Acme Inc', givenName: 'Ann' }),
        otherBaseline: expect.objectContaining({ company: 'Acme Inc' }),
      }),
    ]);
  });

  it('a field changed on both sides to different values is a conflict: the master app wins and it is recorded', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, company: 'Acme A' } };
    const b2 = { ...b, fields: { ...b.fields, org: 'Acme B', familyName: 'Lee-Smith' } };
    const out = planBatch(input(ctx, { changed: [a2, b2], links: [link] }));
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ org: 'Acme A' });
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ last_name: 'Lee-Smith' });
    expect(out.conflicts).toEqual([
      { a: 'a1', b: 'b1', fieldA: 'company', fieldB: 'org', valueA: 'Acme A', valueB: 'Acme B', winner: 'a' },
    ]);
  });

  it('a field that equals the baseline on both sides is left alone', () => {
    const { ctx, a, b, link } = setup();
    const out = planBatch(input(ctx, { changed: [a, b], links: [link] }));
    expect(out).toMatchObject({ ops: [], conflicts: [], ambiguous: [] });
  });

  it("The engine's own writes come back as changes and must produce no further writes (no ping-pong)", () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, phone: '+1 (555) 010-2000' } };
    const first = planBatch(input(ctx, { changed: [a2], related: [b], links: [link] }));
    const up = updateOf(first.ops, 'b')!;
    // The app stores the number its own way; the echo still equals the baseline.
    const echoed = { ...b, version: 'v99', fields: { ...b.fields, ...up.fields, workPhone: '+15550102000' } };
    const after = { ...link, baselineA: up.otherBaseline!, baselineB: up.baseline };
    const second = planBatch(input(ctx, { changed: [echoed], related: [a2], links: [after] }));
    expect(second.ops).toEqual([]);
  });

  it('an app that bumps a version without changing any mapped field causes no write', () => {
    const { ctx, a, b, link } = setup();
    const bumped = { ...b, version: 'v1000', fields: { ...b.fields, unmapped: 'x' } };
    expect(planBatch(input(ctx, { changed: [bumped], related: [a], links: [link] })).ops).toEqual([]);
  });

  it('both sides changed to the same value: only the baselines move', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, company: 'New' } };
    const b2 = { ...b, fields: { ...b.fields, org: 'New' } };
    expect(kinds(planBatch(input(ctx, { changed: [a2, b2], links: [link] })).ops)).toEqual(['baseline']);
  });

  it('tags added on both sides are both kept', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, tags: ['vip', 'x'] } };
    const b2 = { ...b, fields: { ...b.fields, groups: ['vip', 'y'] } };
    const out = planBatch(input(ctx, { changed: [a2, b2], links: [link] }));
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ tags: ['vip', 'x', 'y'] });
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ groups: ['vip', 'y', 'x'] });
    expect(out.conflicts).toEqual([]);
  });

  it('an edit beats a clear in a conflict', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, company: '' } };
    const b2 = { ...b, fields: { ...b.fields, org: 'Other' } };
    const out = planBatch(input(ctx, { changed: [a2, b2], links: [link] }));
    expect(updateOf(out.ops, 'a')!.fields).toEqual({ company: 'Other' });
  });

  it('a clear on one side is a change and is written to the other', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, company: null } };
    expect(updateOf(planBatch(input(ctx, { changed: [a2], related: [b], links: [link] })).ops, 'b')!.fields).toEqual({ org: null });
  });

  it('A link, once made, outlives later email changes', () => {
    const { ctx, a, b, link } = setup();
    const a2 = { ...a, fields: { ...a.fields, email_1: 'new@x.com' } };
    const other = snap('b', 'b9', { email: 'new@x.com' });
    const out = planBatch(input(ctx, { changed: [a2], related: [b, other], links: [link] }));
    expect(out.ops).toMatchObject([{ kind: 'update', target: 'b', fields: { email: 'new@x.com' } }]);
  });

  it('A contact that no longer passes the rules stops syncing; nothing is deleted', () => {
    const { ctx, a, b, link } = setup({ rules: { aToB: [{ filter: { field: 'company', operator: 'equals', value: 'Acme' } }] } });
    const a2 = { ...a, fields: { ...a.fields, company: 'Other', first_name: 'Anna' } };
    const out = planBatch(input(ctx, { changed: [a2], related: [b], links: [link] }));
    expect(out.ops.filter((o) => o.kind !== 'baseline')).toEqual([]);
  });
});

describe('Deletions and unsubscribes', () => {
  const setup = (overrides: Record<string, unknown> = {}) => {
    const ctx = context(overrides);
    const a = snap('a', 'a1', { first_name: 'Ann', email_1: 'ann@x.com', tags: ['vip'] });
    const b = snap('b', 'b1', { givenName: 'Ann', email: 'ann@x.com', groups: ['vip'] });
    const gone = { ...a, deleted: true, fields: {} };
    return { ctx, a, b, gone, link: agreedLink(ctx, a, b) };
  };

  it('Default: the engine never deletes anything. A deletion on one side marks the link and stops it', () => {
    const { ctx, b, gone, link } = setup();
    const out = planBatch(input(ctx, { changed: [gone], related: [b], links: [link] }));
    expect(out.ops).toEqual([{ kind: 'unlink', a: 'a1', b: 'b1', reason: 'deleted-a' }]);
  });

  it('"Delete": the other side\'s contact is deleted', () => {
    const { ctx, b, gone, link } = setup({ deletions: { policy: 'delete' } });
    const out = planBatch(input(ctx, { changed: [gone], related: [b], links: [link] }));
    expect(out.ops).toEqual([{ kind: 'delete', target: 'b', id: 'b1', version: b.version, link: { a: 'a1', b: 'b1' } }]);
  });

  it('"Delete": unless that side has delete protection on', () => {
    const { ctx, b, gone, link } = setup({ deletions: { policy: 'delete', protectB: true } });
    expect(kinds(planBatch(input(ctx, { changed: [gone], related: [b], links: [link] })).ops)).toEqual(['unlink']);
  });

  it('"Trash": the other side\'s contact gets the tag "Rapport Trash"', () => {
    const { ctx, b, gone, link } = setup({ deletions: { policy: 'trash' } });
    const out = planBatch(input(ctx, { changed: [gone], related: [b], links: [link] }));
    expect(kinds(out.ops)).toEqual(['update', 'unlink']);
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ groups: ['vip', TRASH_TAG] });
  });

  it('An edit beats a deletion: a contact deleted on one side but edited on the other is not deleted anywhere', () => {
    const { ctx, b, gone, link } = setup({ deletions: { policy: 'delete' } });
    const edited = { ...b, fields: { ...b.fields, givenName: 'Annie' } };
    const out = planBatch(input(ctx, { changed: [gone, edited], links: [link] }));
    expect(out.ops).toEqual([{ kind: 'unlink', a: 'a1', b: 'b1', reason: 'deleted-a' }]);
  });

  it('a stopped link keeps its survivor from being created again', () => {
    const { ctx, a, link } = setup();
    const edited = { ...a, fields: { ...a.fields, first_name: 'Annie' } };
    const out = planBatch(input(ctx, { changed: [edited], links: [{ ...link, state: 'deleted-b' }] }));
    expect(out.ops).toEqual([]);
  });

  it('Unsubscribes add the tag "Rapport Unsubscribes" on the other side', () => {
    const { ctx, a, b, link } = setup({ unsubscribes: 'tag' });
    const a2 = { ...a, fields: { ...a.fields, opt_out: true } };
    const out = planBatch(input(ctx, { changed: [a2], related: [b], links: [link] }));
    expect(updateOf(out.ops, 'b')!.fields).toEqual({ groups: ['vip', UNSUBSCRIBES_TAG] });
    // The tag stays on its side: the next cycle neither removes it nor copies it back.
    const up = updateOf(out.ops, 'b')!;
    const b2 = { ...b, fields: { ...b.fields, ...up.fields } };
    const after = { ...link, baselineA: up.otherBaseline ?? link.baselineA, baselineB: up.baseline };
    expect(planBatch(input(ctx, { changed: [b2, a2], links: [after] })).ops).toEqual([]);
  });
});

describe('Rules', () => {
  it('a contact that passes no rule is not created', () => {
    const ctx = context({ rules: { aToB: [{ filter: { operator: 'hasTag', value: 'sync' } }] } });
    const out = planBatch(input(ctx, { changed: [snap('a', 'a1', { email_1: 'a@x.com', tags: ['other'] })] }));
    expect(out.ops).toEqual([]);
  });

  it("created contacts get the rule's tags", () => {
    const ctx = context({
      rules: {
        aToB: [
          { filter: { or: [{ operator: 'hasTag', value: 'sync' }, { field: 'company', operator: 'startsWith', value: 'ac' }] }, tags: ['From CRM'] },
        ],
      },
    });
    const out = planBatch(input(ctx, { changed: [snap('a', 'a1', { email_1: 'a@x.com', company: 'Acme', tags: ['x'] })] }));
    expect(out.ops).toMatchObject([{ kind: 'create', target: 'b', fields: { groups: ['x', 'From CRM'] } }]);
  });
});
