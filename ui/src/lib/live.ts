import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Delivery } from '../api/types';

/** Query string of the log filters, as GET /deliveries and the stream take them. */
export type LogQuery = Record<string, string | undefined>;

/**
 * Live updates of the delivery log (GET /deliveries/stream, server-sent events fed by PostgreSQL
 * LISTEN/NOTIFY): changed deliveries go into the cached pages and details; "resync" and every (re)connect
 * reload the list, so nothing missed while disconnected stays missing.
 */
export function useLiveDeliveries(query: LogQuery, listKey: unknown[]): 'connecting' | 'live' | 'offline' {
  const qc = useQueryClient();
  const [state, setState] = useState<'connecting' | 'live' | 'offline'>('connecting');
  const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  useEffect(() => {
    const es = new EventSource(`/api/v1/deliveries/stream${qs ? `?${qs}` : ''}`);
    const reload = () => qc.invalidateQueries({ queryKey: listKey });
    es.addEventListener('ready', () => {
      setState('live');
      reload();
    });
    es.addEventListener('resync', reload);
    es.addEventListener('delivery', (ev) => {
      const d = JSON.parse((ev as MessageEvent).data) as Delivery;
      qc.setQueryData(listKey, (old: { pages: { items: Delivery[]; nextCursor: string | null }[]; pageParams: unknown[] } | undefined) => {
        if (!old?.pages) return old;
        const known = old.pages.some((p) => p.items.some((x) => x.id === d.id));
        const pages = old.pages.map((p, i) => ({
          ...p,
          items: known ? p.items.map((x) => (x.id === d.id ? d : x)) : i === 0 ? [d, ...p.items] : p.items,
        }));
        return { ...old, pages };
      });
      qc.invalidateQueries({ queryKey: ['delivery', d.id] });
    });
    es.onerror = () => setState(es.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
    return () => es.close();
    // listKey is derived from the same filters as qs, so qs alone says when to reconnect
  }, [qs, qc]);
  return state;
}
