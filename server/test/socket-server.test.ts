// The server through real socket.io clients, over WebSocket and polling, on loopback.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io as connect, Socket as ClientSocket } from 'socket.io-client';
import { createSocketServer, SocketServer } from '../socket-server';
import { Config, loadConfig } from '../src/config';

const APP = 'https://app.flowspace.test';
const BASE: Config = {
  host: '127.0.0.1', port: 0, metricsPort: 0, allowedOrigins: [APP], redisUrl: undefined,
  moveIntervalMs: 50, chatMaxLength: 100, eventsPerSecond: 20, eventBurst: 40, shutdownTimeoutMs: 2000,
};

type Answer = { ok: boolean; error?: string; [key: string]: unknown };

function client(port: number, origin: string | undefined = APP): ClientSocket {
  return connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'], reconnection: false, timeout: 3000,
    extraHeaders: origin ? { Origin: origin } : {},
  });
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function ask(socket: ClientSocket, event: string, payload: unknown): Promise<Answer> {
  return socket.timeout(2000).emitWithAck(event, payload);
}

function next<T>(socket: ClientSocket, event: string, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

function silence(socket: ClientSocket, event: string, ms = 300): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (payload: unknown) => reject(new Error(`unexpected ${event}: ${JSON.stringify(payload)}`));
    socket.once(event, fail);
    setTimeout(() => {
      socket.off(event, fail);
      resolve();
    }, ms);
  });
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}):
    Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

function metricsPort(server: SocketServer): number {
  return (server.metricsServer.address() as net.AddressInfo).port;
}

describe('one server', () => {
  let server: SocketServer;
  const sockets: ClientSocket[] = [];
  const open = async (origin?: string) => {
    const socket = client(server.port, origin);
    sockets.push(socket);
    await connected(socket);
    return socket;
  };

  before(async () => {
    server = await createSocketServer(BASE);
  });
  after(async () => {
    sockets.forEach((s) => s.close());
    await server.shutdown();
  });

  test('/healthz answers JSON without opening an Engine.IO session', async () => {
    const before = server.io.engine.clientsCount;
    const health = await get(server.port, '/healthz');
    assert.equal(health.status, 200);
    const body = JSON.parse(health.body);
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.uptime, 'number');
    assert.equal(body.connections, before);
    assert.equal(server.io.engine.clientsCount, before);
  });

  test('two players see each other join, move and chat', async () => {
    const ada = await open();
    const bob = await open();
    const first = await ask(ada, 'space:join', { spaceId: 'lobby', name: 'Ada', position: { x: 1, y: 2 } });
    assert.equal(first.ok, true);
    const joined = next<{ id: string; name: string }>(ada, 'space:member-joined');
    const second = await ask(bob, 'space:join', { spaceId: 'lobby', name: 'Bob' });
    assert.deepEqual((second.members as { name: string }[]).map((m) => m.name).sort(), ['Ada', 'Bob']);
    assert.equal((await joined).name, 'Bob');

    const moved = next<{ id: string; x: number; y: number }>(bob, 'player:moved');
    assert.deepEqual(await ask(ada, 'player:move', { x: 10, y: -4.5 }), { ok: true });
    assert.deepEqual(await moved, { id: ada.id, x: 10, y: -4.5 });

    const heard = next<{ name: string; text: string; ts: number }>(bob, 'chat:message');
    const sent = await ask(ada, 'chat:message', { text: '  hello space  ' });
    const message = await heard;
    assert.equal(message.text, 'hello space');
    assert.equal(message.name, 'Ada');
    assert.equal(message.ts, sent.ts);
    assert.ok(Math.abs(message.ts - Date.now()) < 5000, 'server timestamp');

    const left = next<{ id: string }>(bob, 'space:member-left');
    assert.deepEqual(await ask(ada, 'space:leave', null), { ok: true });
    assert.equal((await left).id, ada.id);
  });

  test('malformed payloads get an error ack, reach nobody and leave the server up', async () => {
    const eve = await open();
    const bob = await open();
    await ask(bob, 'space:join', { spaceId: 'guarded', name: 'Bob' });
    assert.match((await ask(eve, 'player:move', { x: 1, y: 1 })).error ?? '', /join a space first/);
    const bad: [string, unknown, RegExp][] = [
      ['space:join', { spaceId: '../etc', name: 'Eve' }, /spaceId/],
      ['space:join', { spaceId: 'guarded', name: '' }, /name/],
      ['space:join', 'guarded', /expects/],
      ['space:join', { spaceId: 'guarded', name: 'Eve', position: { x: 'a', y: 1 } }, /position/],
    ];
    for (const [event, payload, error] of bad) {
      const answer = await ask(eve, event, payload);
      assert.equal(answer.ok, false, event);
      assert.match(answer.error ?? '', error);
    }
    await ask(eve, 'space:join', { spaceId: 'guarded', name: 'Eve' });
    const quiet = Promise.all([silence(bob, 'player:moved'), silence(bob, 'chat:message')]);
    assert.match((await ask(eve, 'player:move', { x: Infinity, y: 0 })).error ?? '', /finite/);
    assert.match((await ask(eve, 'player:move', [1, 2])).error ?? '', /position/);
    assert.match((await ask(eve, 'chat:message', { text: 'x'.repeat(101) })).error ?? '', /longer than 100/);
    assert.match((await ask(eve, 'chat:message', { text: 42 })).error ?? '', /expects/);
    eve.emit('player:move', null); // no ack at all: silently dropped
    await quiet;
    assert.equal((await get(server.port, '/healthz')).status, 200);
  });

  test('moves are throttled per socket', async () => {
    const ada = await open();
    await ask(ada, 'space:join', { spaceId: 'fast', name: 'Ada' });
    assert.deepEqual(await ask(ada, 'player:move', { x: 1, y: 1 }), { ok: true });
    assert.deepEqual(await ask(ada, 'player:move', { x: 2, y: 2 }), { ok: false, error: 'throttled' });
    await new Promise((resolve) => setTimeout(resolve, BASE.moveIntervalMs + 10));
    assert.deepEqual(await ask(ada, 'player:move', { x: 3, y: 3 }), { ok: true });
  });

  test('each connection is rate limited', async () => {
    const spammer = await open();
    const answers = await Promise.all(
      Array.from({ length: BASE.eventBurst + 20 }, () => ask(spammer, 'space:leave', null)));
    const limited = answers.filter((a) => a.error?.startsWith('rate_limited')).length;
    assert.ok(limited >= 15, `${limited} of ${answers.length} were rate limited`);
    const polite = await open();
    assert.deepEqual(await ask(polite, 'space:leave', null), { ok: true }, 'others are not limited');
  });

  test('origins other than the app are refused, over WebSocket and polling', async () => {
    const stranger = client(server.port, 'https://evil.example');
    sockets.push(stranger);
    await assert.rejects(connected(stranger));
    await open(APP);
    await open(undefined);
    const polling = await get(server.port, '/socket.io/?EIO=4&transport=polling', { Origin: 'https://evil.example' });
    assert.equal(polling.status, 403);
    const allowed = await get(server.port, '/socket.io/?EIO=4&transport=polling', { Origin: APP });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], APP);
  });

  test('Prometheus metrics on loopback count events and rejections', async () => {
    const metrics = await get(metricsPort(server), '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^flowspace_connections \d+$/m);
    assert.match(metrics.body, /^flowspace_events_total\{event="space:join"\} \d+$/m);
    assert.match(metrics.body, /^flowspace_events_rejected_total\{event="player:move",reason="throttled"\} \d+$/m);
    assert.equal(server.metricsServer.address() && (server.metricsServer.address() as net.AddressInfo).address,
      '127.0.0.1');
  });
});

test('configuration errors name the variable', () => {
  assert.throws(() => loadConfig({}), /ALLOWED_ORIGINS must list/);
  assert.throws(() => loadConfig({ ALLOWED_ORIGINS: 'app.test' }), /not an origin/);
  assert.throws(() => loadConfig({ ALLOWED_ORIGINS: APP, PORT: '70000' }), /PORT must be an integer/);
  assert.equal(loadConfig({ ALLOWED_ORIGINS: `${APP}, http://localhost:3000` }).allowedOrigins.length, 2);
});

test('SIGTERM closes connections and exits within the bound', async () => {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '..', 'socket-server.js')], {
    env: { ...process.env, ALLOWED_ORIGINS: APP, PORT: '0', METRICS_PORT: '0', SHUTDOWN_TIMEOUT_MS: '3000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (line: Buffer) => resolve(JSON.parse(line.toString().split('\n')[0]).port));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  const socket = client(port);
  await connected(socket);
  const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const sent = Date.now();
  child.kill('SIGTERM');
  await disconnected;
  assert.equal(await exited, 0);
  assert.ok(Date.now() - sent < 3000, 'exited within SHUTDOWN_TIMEOUT_MS');
});

describe('two servers on Redis', () => {
  let redis: ChildProcess;
  let servers: SocketServer[] = [];
  const sockets: ClientSocket[] = [];

  before(async () => {
    const found = spawnSync('redis-server', ['--version']);
    assert.equal(found.status, 0, 'redis-server is needed for the adapter test (./flowspace setup installs it)');
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    await waitForPort(port);
    const redisUrl = `redis://127.0.0.1:${port}`;
    servers = await Promise.all([createSocketServer({ ...BASE, redisUrl }), createSocketServer({ ...BASE, redisUrl })]);
  });
  after(async () => {
    sockets.forEach((s) => s.close());
    await Promise.all(servers.map((s) => s.shutdown()));
    redis.kill();
  });

  test('players on different nodes share a space', async () => {
    const ada = client(servers[0].port);
    const bob = client(servers[1].port);
    sockets.push(ada, bob);
    await Promise.all([connected(ada), connected(bob)]);
    await ask(ada, 'space:join', { spaceId: 'shared', name: 'Ada' });
    const joined = await ask(bob, 'space:join', { spaceId: 'shared', name: 'Bob' });
    assert.deepEqual((joined.members as { name: string }[]).map((m) => m.name).sort(), ['Ada', 'Bob']);
    const moved = next<{ id: string; x: number }>(bob, 'player:moved');
    await ask(ada, 'player:move', { x: 7, y: 8 });
    assert.equal((await moved).id, ada.id);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}
