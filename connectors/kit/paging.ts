// Following an app's paging to the end. Each app pages its own way (a cursor, a next link, an offset), so the
// app says how to read one page from where the one before ended; the loop and its stop are here.

/** One page: its items, and where the next page starts (null, undefined or '' after the last). */
export interface PageOf<T, C> {
  items: T[];
  next: C | null | undefined;
}

/**
 * The pages of a listing, the first read from `first`, each later one only once the one before is used up:
 * a caller that stops early (it found what it looked for) makes no further request.
 */
export async function* pages<T, C>(first: C, read: (at: C) => Promise<PageOf<T, C>>): AsyncGenerator<T[]> {
  let at = first;
  for (;;) {
    const page = await read(at);
    yield page.items;
    if (page.next === null || page.next === undefined || page.next === '') return;
    at = page.next;
  }
}

/** Every item of a listing, all pages read. */
export async function allPages<T, C>(first: C, read: (at: C) => Promise<PageOf<T, C>>): Promise<T[]> {
  const items: T[] = [];
  for await (const page of pages(first, read)) items.push(...page);
  return items;
}
