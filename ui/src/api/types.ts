import type { components, paths } from './schema.gen';

type S = components['schemas'];
type Json<P extends keyof paths, M extends keyof paths[P], C extends number> = paths[P][M] extends {
  responses: { [K in C]: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

export type Subscription = S['Subscription'];
export type Delivery = S['Delivery'];
export type DeliveryDetail = Json<'/deliveries/{id}', 'get', 200>;
export type Attempt = DeliveryDetail['attemptLog'][number];
export type Provider = S['Provider'];
export type Connection = S['Connection'];
export type Session = Json<'/session', 'post', 201>;
export type Role = Session['role'];
export type DeliveryStatus = Delivery['status'];
export const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'retrying', 'success', 'failed', 'superseded'];
export type Target = S['Target'];
export type TargetState = Target['state'];
export const TARGET_STATES: TargetState[] = ['closed', 'open', 'half_open'];
export type TargetLimit = S['TargetLimit'];
