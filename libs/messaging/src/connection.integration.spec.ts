import { waitForDevstack } from '@tally/devstack';
import { describe, expect, it } from 'vitest';
import { createAmqpConnection } from './connection';

describe('createAmqpConnection', () => {
  it('connects with Nagle off and declares through the connection', async () => {
    const { amqpUrl } = await waitForDevstack();
    const connection = createAmqpConnection({ url: amqpUrl, connectionName: 'tally-test' });
    try {
      await connection.onConnect(10_000, true);
      const { queue, messageCount } = await connection.queueDeclare({ exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
      expect(messageCount).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
