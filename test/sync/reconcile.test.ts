import { describe, expect, it } from 'vitest';
import { compareListing } from '../../sync/reconcile';

// The reconcile's decision for a page of a listing: contacts in sync are only marked seen, the rest read again.

describe('compareListing', () => {
  const known = { c1: '3', c2: '7', c3: '1' };

  it('a contact listed at its stored version is in sync: nothing to read, plan or write', () => {
    expect(compareListing(known, [{ id: 'c1', version: '3' }, { id: 'c3', version: '1' }])).toEqual({ unchanged: ['c1', 'c3'], differ: [] });
  });

  it('another version (a change the feed missed, even one stamped in the past) is read again', () => {
    expect(compareListing(known, [{ id: 'c2', version: '6' }])).toEqual({ unchanged: [], differ: ['c2'] });
  });

  it('a contact the store does not hold alive (a create the feed missed, or one listed again after a deletion) is read', () => {
    expect(compareListing(known, [{ id: 'c9', version: '1' }, { id: 'constructor', version: '1' }])).toEqual({
      unchanged: [],
      differ: ['c9', 'constructor'],
    });
  });

  it('what the page does not list is not judged here: gone is decided once the whole side is listed', () => {
    expect(compareListing(known, [])).toEqual({ unchanged: [], differ: [] });
  });

  it('an id listed twice, once at another version, is read again once', () => {
    const verdict = compareListing(known, [
      { id: 'c1', version: '3' },
      { id: 'c1', version: '4' },
      { id: 'c1', version: '3' },
    ]);
    expect(verdict).toEqual({ unchanged: [], differ: ['c1'] });
  });
});
