// The server through real socket.io clients, over WebSocket and polling, on loopback.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { io as connect, Socket as ClientSocket } from 'socket.io-client';
import { createSocketServer, SocketServer } from '../socket-server';
import { AUDIENCE, sign } from '../src/auth';
import { Config, loadConfig } from '../src/config';

const APP = 'https://app.flowspace.test';
const BASE: Config = {
  host: '127.0.0.1', port: 0, metricsPort: 0, allowedOrigins: [APP], redisUrl: undefined,
  moveIntervalMs: 50, chatMaxLength: 100, eventsPerSecond: 20, eventBurst: 40, shutdownTimeoutMs: 2000,
  joinTimeoutMs: 500, auth: undefined,
};
const SECRET = 'a-signing-secret-of-at-least-32-characters!';
const ANONYMOUS = { ALLOW_ANONYMOUS: 'true' };

type Moves = { moves: { id: string; x: number; y: number }[] };

type Answer = { ok: boolean; error?: string; [key: string]: unknown };

function client(port: number, origin: string | undefined = APP, token?: string): ClientSocket {
  return connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'], reconnection: false, timeout: 3000,
    extraHeaders: origin ? { Origin: origin } : {}, auth: token === undefined ? {} : { token },
  });
}

function token(claims: Record<string, unknown>, secret = SECRET): string {
  return sign({ aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300, ...claims }, secret);
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

  test('/healthz answers HEAD and a query string too', async () => {
    assert.equal((await get(server.port, '/healthz?probe=caddy')).status, 200);
    const head = await new Promise<number>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port: server.port, path: '/healthz', method: 'HEAD' },
        (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    assert.equal(head, 200);
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

    const moved = next<Moves>(bob, 'players:moved');
    assert.deepEqual(await ask(ada, 'player:move', { x: 10, y: -4.5 }), { ok: true });
    assert.deepEqual(await moved, { moves: [{ id: ada.id, x: 10, y: -4.5 }] });

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
    const quiet = Promise.all([silence(bob, 'players:moved'), silence(bob, 'chat:message')]);
    assert.match((await ask(eve, 'player:move', { x: Infinity, y: 0 })).error ?? '', /finite/);
    assert.match((await ask(eve, 'player:move', [1, 2])).error ?? '', /position/);
    assert.match((await ask(eve, 'chat:message', { text: 'x'.repeat(101) })).error ?? '', /longer than 100/);
    assert.match((await ask(eve, 'chat:message', { text: 42 })).error ?? '', /expects/);
    eve.emit('player:move', null); // no ack at all: silently dropped
    await quiet;
    assert.equal((await get(server.port, '/healthz')).status, 200);
  });

  test('moves in quick succession are never refused: each tick carries the latest position', async () => {
    const ada = await open();
    const bob = await open();
    await ask(ada, 'space:join', { spaceId: 'fast', name: 'Ada' });
    await ask(bob, 'space:join', { spaceId: 'fast', name: 'Bob' });
    const batches: Moves[] = [];
    bob.on('players:moved', (batch: Moves) => batches.push(batch));
    const answers = await Promise.all([1, 2, 3, 4, 5].map((x) => ask(ada, 'player:move', { x, y: x })));
    assert.ok(answers.every((a) => a.ok), JSON.stringify(answers));
    await new Promise((resolve) => setTimeout(resolve, BASE.moveIntervalMs * 3));
    const adas = batches.flatMap((b) => b.moves.filter((m) => m.id === ada.id));
    assert.deepEqual(adas[adas.length - 1], { id: ada.id, x: 5, y: 5 }, 'the latest position arrives');
    assert.ok(adas.length < 5, `coalesced: ${adas.length} positions sent for 5 moves`);
    assert.ok(batches.every((b) => new Set(b.moves.map((m) => m.id)).size === b.moves.length),
      'one entry per player per tick');
  });

  test('a flood is refused once, then dropped unanswered, then disconnected', async () => {
    const spammer = await open();
    const answers = await Promise.allSettled(Array.from({ length: BASE.eventBurst + 10 },
      () => spammer.timeout(500).emitWithAck('space:leave', null)));
    const fulfilled = answers.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<Answer>).value);
    assert.equal(fulfilled.filter((a) => a.error === 'rate_limited: too many events').length, 1, 'refused once');
    assert.equal(fulfilled.length, BASE.eventBurst + 1, 'the rest got no answer');
    const polite = await open();
    assert.deepEqual(await ask(polite, 'space:leave', null), { ok: true }, 'others are not limited');

    const flooder = await open();
    const gone = new Promise((resolve) => flooder.once('disconnect', resolve));
    for (let i = 0; i < BASE.eventBurst * 3; i += 1) flooder.emit('made-up-event', i);
    await gone;
    assert.deepEqual(await ask(polite, 'space:leave', null), { ok: true }, 'the bystander still answered');
    const metrics = await get(metricsPort(server), '/metrics');
    assert.match(metrics.body, /^flowspace_events_rejected_total\{event="other",reason="rate_limited"\} \d+$/m);
    assert.match(metrics.body, /^flowspace_disconnects_total\{reason="flood"\} \d+$/m);
  });

  test('names are normalised, invisible ones refused, and duplicates told apart', async () => {
    const ada = await open();
    const twin = await open();
    const eve = await open();
    for (const name of ['\u200b\u200b', 'Ev\u202ee', '\u2066Bob\u2069']) {
      const answer = await ask(eve, 'space:join', { spaceId: 'names', name });
      assert.equal(answer.ok, false, JSON.stringify(name));
      assert.match(answer.error ?? '', /name/);
    }
    assert.equal((await ask(ada, 'space:join', { spaceId: 'names', name: ' Ada  Lovelace ' })).name, 'Ada Lovelace');
    const second = await ask(twin, 'space:join', { spaceId: 'names', name: 'ada lovelace' });
    assert.equal(second.name, 'ada lovelace (2)');
    assert.deepEqual((second.members as { name: string }[]).map((m) => m.name).sort(),
      ['Ada Lovelace', 'ada lovelace (2)']);
  });

  test('every request of a session is checked for its origin, and JSONP is refused', async () => {
    const handshake = await get(server.port, '/socket.io/?EIO=4&transport=polling');
    assert.equal(handshake.status, 200);
    const sid = JSON.parse(handshake.body.slice(1)).sid as string;
    const evil = { Origin: 'https://evil.example' };
    assert.equal((await get(server.port, `/socket.io/?EIO=4&transport=polling&sid=${sid}`, evil)).status, 403);
    const upgrade = connect(`http://127.0.0.1:${server.port}`, { transports: ['websocket'], reconnection: false,
      timeout: 2000, extraHeaders: evil, query: { sid } } as never);
    sockets.push(upgrade);
    await assert.rejects(connected(upgrade));
    assert.equal((await get(server.port, '/socket.io/?EIO=4&transport=polling&j=0')).status, 403);
    assert.equal((await get(server.port, `/socket.io/?EIO=4&transport=polling&sid=${sid}`)).status, 200);
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
    assert.match(metrics.body, /^flowspace_events_rejected_total\{event="player:move",reason="invalid"\} \d+$/m);
    assert.doesNotMatch(metrics.body, /reason="[^"]*:"/, 'reasons are codes, not message prefixes');
    assert.equal(server.metricsServer.address() && (server.metricsServer.address() as net.AddressInfo).address,
      '127.0.0.1');
  });
});

test('long chat messages within CHAT_MAX_LENGTH pass, however many bytes their characters take', async () => {
  const server = await createSocketServer({ ...BASE, chatMaxLength: 10000 });
  const socket = client(server.port);
  try {
    await connected(socket);
    await ask(socket, 'space:join', { spaceId: 'long', name: 'Ada' });
    // 9,000 two-byte, 6,000 three-byte and 9,998 six-byte-escaped characters: all within the limit.
    for (const text of ['é'.repeat(9000), '中'.repeat(6000), '\u0001'.repeat(9998)]) {
      const answer = await ask(socket, 'chat:message', { text: `x${text}x` });
      assert.equal(answer.ok, true, `${text.length} × ${JSON.stringify(text[0])}: ${answer.error}`);
    }
    assert.equal(socket.connected, true);
  } finally {
    socket.close();
    await server.shutdown();
  }
});

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'socket-server.js')],
    { env: { ...process.env, ...ANONYMOUS, ALLOWED_ORIGINS: APP, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

test('a port in use stops the server with exit 2 naming the variable', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  const port = String((taken.address() as net.AddressInfo).port);
  try {
    const onPort = await runServer({ PORT: port, METRICS_PORT: '0' });
    assert.equal(onPort.code, 2);
    assert.match(onPort.stderr, /PORT \d+ on 127\.0\.0\.1 cannot be used: EADDRINUSE/);
    assert.doesNotMatch(onPort.stderr, /at .*\.js/, 'no stack trace');
    const onMetrics = await runServer({ PORT: '0', METRICS_PORT: port });
    assert.equal(onMetrics.code, 2);
    assert.match(onMetrics.stderr, /METRICS_PORT \d+ cannot be used: EADDRINUSE/);
  } finally {
    taken.close();
  }
});

test('configuration errors name the variable', () => {
  assert.throws(() => loadConfig({}), /ALLOWED_ORIGINS must list/);
  assert.throws(() => loadConfig({ ...ANONYMOUS, ALLOWED_ORIGINS: 'app.test' }), /not an origin/);
  assert.throws(() => loadConfig({ ...ANONYMOUS, ALLOWED_ORIGINS: APP, PORT: '70000' }), /PORT must be an integer/);
  assert.equal(loadConfig({ ...ANONYMOUS, ALLOWED_ORIGINS: `${APP}, http://localhost:3000` }).allowedOrigins.length, 2);
  assert.throws(() => loadConfig({ ALLOWED_ORIGINS: APP }), /AUTH_SECRET must be at least 32/, 'no anonymous by default');
  assert.throws(() => loadConfig({ ALLOWED_ORIGINS: APP, AUTH_SECRET: 'short' }), /AUTH_SECRET/);
  assert.throws(() => loadConfig({ ALLOWED_ORIGINS: APP, ALLOW_ANONYMOUS: 'yes' }), /ALLOW_ANONYMOUS/);
  assert.equal(loadConfig({ ALLOWED_ORIGINS: APP, AUTH_SECRET: SECRET }).auth?.current, SECRET);
});

describe('a server that admits only tokens the app signed', () => {
  let server: SocketServer;
  const sockets: ClientSocket[] = [];
  const previous = 'the-previous-signing-secret-32-characters-long';
  const open = async (signed?: string) => {
    const socket = client(server.port, APP, signed);
    sockets.push(socket);
    await connected(socket);
    return socket;
  };
  before(async () => {
    const until = Math.floor(Date.now() / 1000) + 3600;
    server = await createSocketServer({ ...BASE, auth: { current: SECRET, previous, previousUntil: until } });
  });
  after(async () => {
    sockets.forEach((s) => s.close());
    await server.shutdown();
  });

  test('no token, a forged one, an expired one or one for another audience: no connection', async () => {
    const refused = [undefined, token({ sub: 'u1', name: 'Eve', spaces: '*' }, 'another-secret-of-32-characters-or-more'),
      token({ sub: 'u1', name: 'Eve', spaces: '*', exp: Math.floor(Date.now() / 1000) - 120 }),
      token({ sub: 'u1', name: 'Eve', spaces: '*', aud: 'someone-else' }),
      sign({ alg: 'none' }, SECRET).split('.').slice(0, 2).join('.') + '.'];
    for (const signed of refused) {
      const socket = client(server.port, APP, signed);
      sockets.push(socket);
      await assert.rejects(connected(socket), /unauthorized/);
    }
  });

  test('a token admits its spaces only, and its name is the one others see', async () => {
    const ada = await open(token({ sub: 'u-ada', name: 'Ada', spaces: ['lab'] }));
    const bob = await open(token({ sub: 'u-bob', name: 'Bob', spaces: ['lab', 'attic'] }));
    assert.equal((await ask(ada, 'space:join', { spaceId: 'lab', name: 'Mallory' })).name, 'Ada');
    const joined = next<{ name: string }>(ada, 'space:member-joined');
    assert.equal((await ask(bob, 'space:join', { spaceId: 'lab' })).ok, true);
    assert.equal((await joined).name, 'Bob');
    assert.match((await ask(ada, 'space:join', { spaceId: 'attic' })).error ?? '', /forbidden: .* attic/);
    const fresher = token({ sub: 'u-ada', name: 'Ada', spaces: ['attic'] });
    assert.equal((await ask(ada, 'space:join', { spaceId: 'attic', token: fresher })).ok, true);
  });

  test('tokens signed with the previous key stay valid until its grace ends', async () => {
    const old = await open(token({ sub: 'u-old', name: 'Old', spaces: '*' }, previous));
    assert.equal((await ask(old, 'space:join', { spaceId: 'grace' })).ok, true);
    const ended = await createSocketServer({ ...BASE, auth: { current: SECRET, previous, previousUntil: 1 } });
    try {
      const late = client(ended.port, APP, token({ sub: 'u-old', name: 'Old', spaces: '*' }, previous));
      sockets.push(late);
      await assert.rejects(connected(late), /bad signature/);
    } finally {
      await ended.shutdown();
    }
  });
});

test('SIGTERM closes connections and exits within the bound', async () => {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '..', 'socket-server.js')], {
    env: { ...process.env, ...ANONYMOUS, ALLOWED_ORIGINS: APP, PORT: '0', METRICS_PORT: '0', SHUTDOWN_TIMEOUT_MS: '3000' },
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
  let redisUrl = '';
  let redisPort = 0;
  const sockets: ClientSocket[] = [];
  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    await waitForPort(redisPort);
  };

  before(async () => {
    const found = spawnSync('redis-server', ['--version']);
    assert.equal(found.status, 0, 'redis-server is needed for the adapter test (./flowspace setup installs it)');
    redisPort = await freePort();
    await startRedis();
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    servers = await Promise.all([createSocketServer({ ...BASE, redisUrl }), createSocketServer({ ...BASE, redisUrl })]);
  });
  after(async () => {
    sockets.forEach((s) => s.close());
    await Promise.all(servers.map((s) => s.shutdown()));
    redis.kill();
  });

  // Ada on the server at one port, Bob on another, both joined to `spaceId`; and Bob's answer.
  const adaAndBobIn = async (spaceId: string, adaPort: number, bobPort: number) => {
    const ada = client(adaPort);
    const bob = client(bobPort);
    sockets.push(ada, bob);
    await Promise.all([connected(ada), connected(bob)]);
    await ask(ada, 'space:join', { spaceId, name: 'Ada' });
    const joined = await ask(bob, 'space:join', { spaceId, name: 'Bob' });
    return { ada, bob, joined };
  };

  test('players on different nodes share a space', async () => {
    const { ada, bob, joined } = await adaAndBobIn('shared', servers[0].port, servers[1].port);
    assert.deepEqual((joined.members as { name: string }[]).map((m) => m.name).sort(), ['Ada', 'Bob']);
    const moved = next<Moves>(bob, 'players:moved');
    await ask(ada, 'player:move', { x: 7, y: 8 });
    assert.deepEqual((await moved).moves, [{ id: ada.id, x: 7, y: 8 }]);
  });

  test('Redis restarts: no player is dropped, nothing sent meanwhile is lost, the space works on', async () => {
    const { ada, bob } = await adaAndBobIn('restart', servers[0].port, servers[1].port);
    const chats: string[] = [];
    bob.on('chat:message', (message: { text: string }) => chats.push(message.text));
    const stopped = new Promise((resolve) => redis.once('exit', resolve));
    redis.kill('SIGKILL');
    await stopped;
    await ask(ada, 'chat:message', { text: 'while Redis is down' });
    await startRedis();
    // The adapters reconnect (node-redis retries) and subscribe again.
    const deadline = Date.now() + 10000;
    while (!chats.includes('after the restart') && Date.now() < deadline) {
      await ask(ada, 'chat:message', { text: 'after the restart' });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(chats.includes('after the restart'), `Bob heard: ${JSON.stringify(chats)}`);
    assert.ok(ada.connected && bob.connected, 'a player was dropped');
    // What the streams adapter was chosen for: sent while Redis was down, delivered once it is back.
    assert.equal(chats[0], 'while Redis is down', `Bob heard: ${JSON.stringify(chats)}`);
    // A join after the restart still learns the members on the other node.
    const cleo = client(servers[1].port);
    sockets.push(cleo);
    await connected(cleo);
    const joined = await ask(cleo, 'space:join', { spaceId: 'restart', name: 'Cleo' });
    assert.deepEqual((joined.members as { name: string }[]).map((m) => m.name).sort(), ['Ada', 'Bob', 'Cleo']);
  });

  test('a node that shuts down tells the other nodes its players left', async () => {
    const extra = await createSocketServer({ ...BASE, redisUrl });
    const { ada, bob } = await adaAndBobIn('shutdown', servers[0].port, extra.port);
    const left = next<{ id: string }>(ada, 'space:member-left', 5000);
    const bobId = bob.id;
    await extra.shutdown();
    assert.equal((await left).id, bobId);
  });

  test('a join answers within the bound, and truthfully, when another node hangs', async () => {
    // A "node" that listens where the adapter's requests go (the nodes count its listeners and
    // wait for that many answers) but never answers them.
    const hung = createClient({ url: redisUrl });
    await hung.connect();
    await hung.subscribe('socket.io#/#', () => undefined);
    try {
      const ada = client(servers[0].port);
      const bob = client(servers[1].port);
      sockets.push(ada, bob);
      await Promise.all([connected(ada), connected(bob)]);
      await ask(ada, 'space:join', { spaceId: 'hung', name: 'Ada' });
      const seen = next<{ name: string }>(ada, 'space:member-joined', 5000);
      const started = Date.now();
      const joined = await bob.timeout(5000).emitWithAck('space:join', { spaceId: 'hung', name: 'Bob' }) as Answer;
      assert.ok(Date.now() - started < BASE.joinTimeoutMs + 1000, `answered after ${Date.now() - started} ms`);
      assert.equal(joined.ok, true, JSON.stringify(joined));
      assert.equal(joined.partial, true);
      assert.equal((await seen).name, 'Bob', 'what the peer saw agrees with the answer');
    } finally {
      await hung.quit();
    }
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
