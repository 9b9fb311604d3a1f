import { createRootRoute, createRoute, createRouter } from '@tanstack/react-router';
import { Layout } from './components/layout';
import { ConnectionsPage } from './pages/connections';
import { DeliveriesPage, parseLogSearch } from './pages/deliveries';
import { DeliveryPage } from './pages/delivery';
import { EventsPage } from './pages/events';
import { OverviewPage } from './pages/overview';
import { PluginsPage } from './pages/plugins';
import { SubscriptionEditPage, SubscriptionNewPage } from './pages/subscription-edit';
import { SubscriptionsPage } from './pages/subscriptions';
import { parseTargetSearch, TargetsPage } from './pages/targets';
import { TokensPage } from './pages/tokens';

const root = createRootRoute({ component: Layout });
const page = <P extends string>(path: P, component: () => React.ReactNode) => createRoute({ getParentRoute: () => root, path, component });

const targetsRoute = createRoute({ getParentRoute: () => root, path: '/targets', component: TargetsPage, validateSearch: parseTargetSearch });
export const deliveriesRoute = createRoute({ getParentRoute: () => root, path: '/deliveries', component: DeliveriesPage, validateSearch: parseLogSearch });

const tree = root.addChildren([
  page('/', OverviewPage),
  page('/subscriptions', SubscriptionsPage),
  page('/subscriptions/new', SubscriptionNewPage),
  page('/subscriptions/$id', SubscriptionEditPage),
  deliveriesRoute,
  page('/deliveries/$id', DeliveryPage),
  targetsRoute,
  page('/connections', ConnectionsPage),
  page('/events', EventsPage),
  page('/plugins', PluginsPage),
  page('/tokens', TokensPage),
]);

/** The UI's routes, under /ui (where the API serves it). */
export const router = createRouter({ routeTree: tree, basepath: '/ui', defaultPreload: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
