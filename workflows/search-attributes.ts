import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Every search attribute the project uses; the embedded server registers exactly these.
export const connectionIdKey = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
export const syncPhaseKey = defineSearchAttributeKey('SyncPhase', SearchAttributeType.KEYWORD);
export const failureKindKey = defineSearchAttributeKey('FailureKind', SearchAttributeType.KEYWORD);
export const contactAppKey = defineSearchAttributeKey('ContactApp', SearchAttributeType.KEYWORD);

export const searchAttributes = [connectionIdKey, syncPhaseKey, failureKindKey, contactAppKey];
