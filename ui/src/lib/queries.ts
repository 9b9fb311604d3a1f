import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { unwrap } from '../api/problem';
import type { Subscription, Target, TargetState } from '../api/types';
import type { components } from '../api/schema.gen';
import { useCan } from './session';

/** Providers with their schemas, and plugins that failed to load. */
export const useProviders = () => useQuery({ queryKey: ['providers'], queryFn: async () => unwrap(await api.GET('/providers')) });

/** The event catalogue. */
export const useEvents = () => useQuery({ queryKey: ['events'], queryFn: async () => unwrap(await api.GET('/events')).items });

/** Every subscription (all pages). */
export const useSubscriptions = () =>
  useQuery({
    queryKey: ['subscriptions'],
    queryFn: async () => {
      const all: Subscription[] = [];
      let cursor: string | undefined;
      do {
        const page = unwrap(await api.GET('/subscriptions', { params: { query: { limit: 500, cursor } } }));
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });

/** Connections (managers and admins only; the API refuses viewers). */
export const useConnections = () => {
  const can = useCan();
  return useQuery({
    queryKey: ['connections'],
    enabled: can.connections,
    queryFn: async () => unwrap(await api.GET('/connections', { params: { query: {} } })).items,
  });
};

/** Totals of the last `hours` by status, event and provider. */
export const useStats = (hours = 24) =>
  useQuery({ queryKey: ['stats', hours], queryFn: async () => unwrap(await api.GET('/deliveries/stats', { params: { query: { hours } } })) as unknown as Stats });

/** Per subscription over the last `hours`: counts by status and success rate, by subscription id. */
export const useSubscriptionStats = (hours = 24) =>
  useQuery({
    queryKey: ['stats-subscriptions', hours],
    queryFn: async () => new Map(unwrap(await api.GET('/stats/subscriptions', { params: { query: { hours } } })).items.map((i) => [i.subscriptionId, i])),
  });
export type SubscriptionStats = components['schemas']['SubscriptionStats']['items'][number];

/** GET /deliveries/stats as the overview reads it. */
export interface Stats {
  since: string;
  hours: number;
  total: number;
  byStatus: Record<string, number>;
  byEvent: Record<string, Record<string, number>>;
  byProvider: Record<string, Record<string, number>>;
}

/** Every target the hub has attempted (all pages), optionally of one circuit state. */
export const useTargets = (state?: TargetState) =>
  useQuery({
    queryKey: ['targets', state ?? 'all'],
    queryFn: async () => {
      const all: Target[] = [];
      let cursor: string | undefined;
      do {
        const page = unwrap(await api.GET('/targets', { params: { query: { limit: 500, cursor, state } } }));
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });

/** Configured or learned rate limits by target key. */
export const useTargetLimits = () => useQuery({ queryKey: ['target-limits'], queryFn: async () => unwrap(await api.GET('/targets/limits')).items });
