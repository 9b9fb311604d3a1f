import { Connection } from '@temporalio/client';
import { TcpProxy } from './tcp-proxy';
import { Hub } from './hub';
import { getStack } from './stack';

/**
 * A Hub whose API talks to Temporal through a TCP proxy a test can stall (Temporal accepts the connection and
 * never answers); the worker keeps the stack's own connection. `close()` unstalls and ends all three.
 */
export async function hubWithProxiedTemporal(name: string, env: Record<string, string>): Promise<{ hub: Hub; proxy: TcpProxy; close(): Promise<void> }> {
  const stack = await getStack();
  const [host, port] = stack.temporal.address.split(':');
  const proxy = await new TcpProxy({ host, port: Number(port) }).start();
  const apiConnection = await Connection.connect({ address: proxy.address });
  const hub = await Hub.start(name, env, [], { apiConnection });
  return {
    hub,
    proxy,
    async close() {
      proxy.unstall();
      await hub.close();
      await apiConnection.close();
      await proxy.stop();
    },
  };
}
