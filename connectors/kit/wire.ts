// Checking a connector's own wire shape against the type a vendor publishes, at compile time only. Where a
// connector keeps its own declaration (nullable where the service sends null, narrower than the vendor's),
// `Assert<OnlyVendorKeys<Own, Vendor>>` fails the typecheck as soon as the declaration names a field the
// vendor's type does not have, e.g. a misspelt one.

/** true when every key of `Own` is a key of `Vendor`; otherwise the keys that are not. */
export type OnlyVendorKeys<Own, Vendor> = [Exclude<keyof Own, keyof Vendor>] extends [never] ? true : { notInVendorType: Exclude<keyof Own, keyof Vendor> };

/** Compiles only for `true`. */
export type Assert<T extends true> = T;
