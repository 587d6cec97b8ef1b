// The registry client and kept-alive connections the registry has closed: a server that resets
// every connection on its second request (what a request on an idle connection the server has
// just closed meets). GET and HEAD are sent again once on a connection of their own; a request
// that may change the registry is not, and fails as the retryable error naming the registry.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RegistryClient } from '../src/oci/registry-client.js';
import { RegistryUnavailableError } from '../src/errors/index.js';

/** An HTTP/1.1 server on raw sockets: answers a connection's first request, resets it on the second. */
function resettingServer(): { server: Server; connections: () => number; answered: () => number } {
  let connections = 0;
  let answered = 0;
  const server = createServer((socket) => {
    connections++;
    let requests = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        requests++;
        if (requests > 1) {
          socket.resetAndDestroy();
          return;
        }
        answered++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}');
      }
    });
    socket.on('error', () => undefined);
  });
  return { server, connections: () => connections, answered: () => answered };
}

describe('registry client on a connection the registry has closed', () => {
  const fake = resettingServer();
  let registry = '';
  before(async () => {
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    const address = fake.server.address();
    assert.ok(address && typeof address === 'object');
    registry = `127.0.0.1:${address.port}`;
  });
  after(() => fake.server.close());

  test('a GET or HEAD on a reset kept-alive connection is sent again on a new one and answered', async () => {
    const client = new RegistryClient({ registry, plainHttp: true, credentials: null });
    const first = await client.request({ method: 'GET', path: '/v2/', repository: 'm' });
    assert.equal(first.status, 200);
    await first.text();
    const connectionsBefore = fake.connections();
    // The agent reuses the first connection, which the server resets: the client asks again.
    const second = await client.request({ method: 'GET', path: '/v2/', repository: 'm' });
    assert.equal(second.status, 200);
    assert.equal(fake.connections(), connectionsBefore + 1, 'the retry went on a connection of its own');
    const head = await client.request({ method: 'HEAD', path: '/v2/m/blobs/sha256:00', repository: 'm' });
    assert.equal(head.status, 200);
  });

  test('a request that may change the registry is not sent again: RegistryUnavailableError naming the registry', async () => {
    const client = new RegistryClient({ registry, plainHttp: true, credentials: null });
    const first = await client.request({ method: 'GET', path: '/v2/', repository: 'm' });
    await first.text();
    const answeredBefore = fake.answered();
    await assert.rejects(
      client.request({ method: 'POST', path: '/v2/m/blobs/uploads/', repository: 'm', body: Buffer.alloc(0) }),
      (err: unknown) => err instanceof RegistryUnavailableError && err.message.includes(registry) && err.retryable,
    );
    assert.equal(fake.answered(), answeredBefore, 'the POST was not sent again');
  });
});
