// The reconcile's decision for one page of a listing: which listed contacts the store already holds as they
// are, and which it must read again. Feeds miss things (a modification stamp behind the watermark, a deletion
// that does not touch the modification time, an expired token): a listing of ids and versions finds them
// without re-reading, re-planning or re-writing the contacts that are in sync.
//
// What is gone is the other half: a live record the whole listing never showed, and that nothing touched
// since the listing began. That part is set-based over the whole side, so the store answers it
// (SyncStore.finishListing) with the rule the re-scan after an expired feed uses.

export interface ListedVersion {
  id: string;
  version: string;
}

export interface ListingVerdict {
  /** listed at the version the store holds: in sync, only marked as seen */
  unchanged: string[];
  /** listed at another version, or unknown to the store: read again; planned only if the content changed */
  differ: string[];
}

/**
 * `known` maps the ids of the side's live stored records on this page to their stored versions. An id the
 * store holds deleted is not known: listed again, the app has it, so it is read and stored as it is.
 */
export function compareListing(known: Readonly<Record<string, string>>, listed: readonly ListedVersion[]): ListingVerdict {
  const unchanged = new Set<string>();
  const differ = new Set<string>();
  for (const { id, version } of listed) {
    // A page may list an id twice (paging over a moving listing); once read again, it is read again.
    if (Object.hasOwn(known, id) && known[id] === version && !differ.has(id)) unchanged.add(id);
    else {
      unchanged.delete(id);
      differ.add(id);
    }
  }
  return { unchanged: [...unchanged], differ: [...differ] };
}
