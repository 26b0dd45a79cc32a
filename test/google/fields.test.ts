import { describe, expect, it } from 'vitest';
import { googleApp } from '../../connectors/google';
import { MappingError, toPatch, toRecord, type GroupContext, type Person } from '../../connectors/google/fields';
import { resolveMapping } from '../../sync/effective-mapping';
import { connectionSettingsSchema } from '../../sync/settings';
import { sandboxFields } from '../../connectors/sandbox/fields';
import type { FieldValue } from '../../sync/types';

const groups: GroupContext = {
  scopeGroupId: 'myContacts',
  userGroupName: (id) => ({ g1: 'customer', g2: 'vip' })[id],
};

/** What the People API would hold after a create with this patch, as it answers it. */
function asStored(fields: Record<string, FieldValue>, memberships = [{ contactGroupMembership: { contactGroupResourceName: 'contactGroups/g1' } }]) {
  const { person } = toPatch(fields, null, memberships);
  return { resourceName: 'people/c1', etag: '%Eg1', ...person, memberships } as Person;
}

describe('Google mapping', () => {
  it('round-trips every catalog field through a Person', () => {
    const fields: Record<string, FieldValue> = {
      'names.givenName': 'Grace',
      'names.middleName': 'Brewster',
      'names.familyName': 'Hopper',
      'organizations.name': 'US Navy',
      'organizations.title': 'Rear Admiral',
      'organizations.department': 'Computing',
      'emailAddresses.0': 'grace@navy.example',
      'emailAddresses.1': 'grace@home.example',
      'emailAddresses.2': null,
      'emailAddresses.3': null,
      'emailAddresses.4': null,
      'phoneNumbers.mobile': '+1 555 010 1000',
      'phoneNumbers.work': '555-010-2000',
      'phoneNumbers.home': null,
      'phoneNumbers.other': null,
      'phoneNumbers.workFax': '555-010-3000',
      'addresses.streetAddress': '1 Navy Way',
      'addresses.city': 'Arlington',
      'addresses.region': 'VA',
      'addresses.postalCode': '22202',
      'addresses.country': 'United States',
      'urls.0': 'https://grace.example',
      birthdays: '1906-12-09',
      biographies: 'Found the first bug.',
      memberships: ['customer'],
    };
    expect(toRecord(asStored(fields), groups).fields).toEqual(fields);
  });

  it('keeps a birthday without a year, and free-form text as text', () => {
    expect(toRecord(asStored({ birthdays: '--12-09' }), groups).fields.birthdays).toBe('--12-09');
    expect(toPatch({ birthdays: '--12-09' }, null).person.birthdays).toEqual([{ date: { month: 12, day: 9 } }]);
    expect(toPatch({ birthdays: 'early December' }, null).person.birthdays).toEqual([{ text: 'early December' }]);
  });

  it('clearing the only name part or notes empties that Person field, and the update mask names it', () => {
    const current = asStored({ 'names.givenName': 'Only', biographies: 'note' });
    const patch = toPatch({ 'names.givenName': null, biographies: '' }, current);
    expect(patch.person).toEqual({ names: [], biographies: [] });
    expect(patch.mask.sort()).toEqual(['biographies', 'names']);
  });

  it('refuses a list where one value belongs, and fields the app does not have', () => {
    expect(() => toPatch({ 'names.givenName': ['a', 'b'] }, null)).toThrow(MappingError);
    expect(() => toPatch({ nickname: 'x' }, null)).toThrow(/has no field "nickname"/);
  });

  it('pairs with the Sandbox app by canonical slot, with no custom mapping', () => {
    const settings = connectionSettingsSchema.parse({});
    const pairs = resolveMapping(settings, { a: 'google', b: 'sandbox' }, { a: googleApp.fields, b: sandboxFields });
    const byA = Object.fromEntries(pairs.map((p) => [p.a, p.b]));
    expect(byA).toMatchObject({
      'names.givenName': 'first_name',
      'names.familyName': 'last_name',
      'organizations.name': 'company',
      'organizations.title': 'job_title',
      'emailAddresses.0': 'email_1',
      'emailAddresses.2': 'email_3',
      'phoneNumbers.mobile': 'phone_mobile',
      'addresses.postalCode': 'postal_code',
      biographies: 'notes',
      memberships: 'tags',
    });
  });
});
