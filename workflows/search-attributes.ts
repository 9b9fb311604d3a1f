import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Ids and statuses only: search attributes are visible to anyone with Temporal Web access.
export const SA_SUBSCRIPTION_ID = defineSearchAttributeKey('HubSubscriptionId', SearchAttributeType.KEYWORD);
export const SA_EVENT = defineSearchAttributeKey('HubEvent', SearchAttributeType.KEYWORD);
export const SA_PROVIDER = defineSearchAttributeKey('HubProvider', SearchAttributeType.KEYWORD);
export const SA_DELIVERY_STATUS = defineSearchAttributeKey('HubDeliveryStatus', SearchAttributeType.KEYWORD);
export const SA_DELIVERY_ID = defineSearchAttributeKey('HubDeliveryId', SearchAttributeType.KEYWORD);

/** Every custom search attribute the service uses; registered at start-up. */
export const SEARCH_ATTRIBUTE_KEYS = [SA_SUBSCRIPTION_ID, SA_EVENT, SA_PROVIDER, SA_DELIVERY_STATUS, SA_DELIVERY_ID];
