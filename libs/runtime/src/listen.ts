import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `server` listening; resolves with the port it got (0 picks a free one), rejects when it cannot (port taken). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
