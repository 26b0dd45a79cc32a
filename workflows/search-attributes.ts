import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Every search attribute the project uses; the embedded server registers exactly these.
export const connectionIdKey = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
export const syncPhaseKey = defineSearchAttributeKey('SyncPhase', SearchAttributeType.KEYWORD);
export const failureKindKey = defineSearchAttributeKey('FailureKind', SearchAttributeType.KEYWORD);
export const contactAppKey = defineSearchAttributeKey('ContactApp', SearchAttributeType.KEYWORD);

/** Progress of the initial scan, both sides together, so ops can sort and filter scanning connections. */
export const contactsScannedKey = defineSearchAttributeKey('ContactsScanned', SearchAttributeType.INT);
export const contactsMatchedKey = defineSearchAttributeKey('ContactsMatched', SearchAttributeType.INT);

export const searchAttributes = [
  connectionIdKey,
  syncPhaseKey,
  failureKindKey,
  contactAppKey,
  contactsScannedKey,
  contactsMatchedKey,
];
