// FlowSpace's realtime server: a space is a Socket.io room. Players join a space, see each
// other's positions, move (throttled), chat, and leave; presence follows disconnects.
// Every payload is validated; a bad one gets an error ack and reaches nobody else.
import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server, Socket } from 'socket.io';
import { Config, loadConfig } from './src/config';
import { Metrics } from './src/metrics';
import { TokenBucket } from './src/rate-limit';
import { checkChat, checkJoin, checkPosition, Position } from './src/validation';

type Ack = (answer: Record<string, unknown>) => void;

interface Member { id: string; name: string; position: Position }

interface PlayerState {
  spaceId?: string;
  name?: string;
  position: Position;
  lastMove: number;
  bucket: TokenBucket;
}

export interface SocketServer {
  io: Server;
  http: http.Server;
  metrics: Metrics;
  metricsServer: http.Server;
  port: number;
  shutdown: () => Promise<void>;
}

// The process's server, once main() has started it.
export let io: Server | undefined;

const room = (spaceId: string) => `space:${spaceId}`;

export async function createSocketServer(config: Config): Promise<SocketServer> {
  const started = Date.now();
  const httpServer = http.createServer((req, res) => {
    // Engine.IO answers its own path; this handler sees everything else.
    if (req.url === '/healthz' && req.method === 'GET') {
      const body = JSON.stringify({
        status: 'ok',
        uptime: Math.round((Date.now() - started) / 1000),
        connections: server.engine.clientsCount,
      });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
  });

  const allowed = new Set(config.allowedOrigins);
  const server = new Server(httpServer, {
    cors: { origin: config.allowedOrigins, methods: ['GET', 'POST'] },
    // Browsers always send Origin; a WebSocket upgrade from a page elsewhere is refused here,
    // polling additionally by CORS. Clients that send no Origin (servers, tests) are let in.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      callback(null, origin === undefined || allowed.has(origin));
    },
    maxHttpBufferSize: 16 * 1024,
  });

  const metrics = new Metrics(() => ({
    flowspace_connections: server.engine.clientsCount,
    flowspace_spaces: [...server.of('/').adapter.rooms.keys()].filter((r) => r.startsWith('space:')).length,
    flowspace_uptime_seconds: Math.round((Date.now() - started) / 1000),
  }));

  let redisClients: ReturnType<typeof createClient>[] = [];
  if (config.redisUrl) {
    const pub = createClient({ url: config.redisUrl });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    redisClients = [pub, sub];
    server.adapter(createAdapter(pub, sub));
  }

  server.on('connection', (socket: Socket) => handleConnection(socket, server, config, metrics));

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const metricsServer = await metrics.listen(config.metricsPort);
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const shutdown = async () => {
    // Stop taking connections, tell clients, then let the rest close within the bound.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
    metricsServer.close();
    await Promise.all(redisClients.map((client) => client.quit().catch(() => undefined)));
  };

  return { io: server, http: httpServer, metrics, metricsServer, port, shutdown };
}

function handleConnection(socket: Socket, server: Server, config: Config, metrics: Metrics): void {
  const state: PlayerState = {
    position: { x: 0, y: 0 },
    lastMove: 0,
    bucket: new TokenBucket(config.eventsPerSecond, config.eventBurst),
  };
  metrics.count('flowspace_connections_total');

  // Every handler runs through here: rate limit, then the handler; nothing it throws escapes.
  const on = (event: string, handler: (payload: unknown, ack: Ack | undefined) => void) => {
    socket.on(event, (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
      const reject = (error: string) => {
        metrics.count('flowspace_events_rejected_total', { event, reason: error.split(' ')[0] });
        ack?.({ ok: false, error });
      };
      if (!state.bucket.take()) return reject('rate_limited: too many events');
      metrics.count('flowspace_events_total', { event });
      try {
        handler(args[0], ack);
      } catch (error) {
        reject(`internal: ${(error as Error).message}`);
      }
    });
  };
  const fail = (event: string, ack: Ack | undefined, error: string) => {
    metrics.count('flowspace_events_rejected_total', { event, reason: 'invalid' });
    ack?.({ ok: false, error });
  };

  const leave = () => {
    if (!state.spaceId) return;
    socket.to(room(state.spaceId)).emit('space:member-left', { id: socket.id });
    socket.leave(room(state.spaceId));
    state.spaceId = undefined;
  };

  on('space:join', (payload, ack) => {
    const join = checkJoin(payload);
    if (!join.ok) return fail('space:join', ack, join.error);
    leave();
    state.spaceId = join.value.spaceId;
    state.name = join.value.name;
    state.position = join.value.position;
    socket.data.member = { id: socket.id, name: state.name, position: state.position } satisfies Member;
    socket.join(room(state.spaceId));
    socket.to(room(state.spaceId)).emit('space:member-joined', socket.data.member);
    server.in(room(state.spaceId)).fetchSockets().then((sockets) => {
      ack?.({ ok: true, self: socket.id, members: sockets.map((s) => s.data.member as Member) });
    }).catch((error: Error) => ack?.({ ok: false, error: `internal: ${error.message}` }));
  });

  on('player:move', (payload, ack) => {
    if (!state.spaceId) return fail('player:move', ack, 'join a space first');
    const position = checkPosition(payload);
    if (!position.ok) return fail('player:move', ack, position.error);
    const now = Date.now();
    if (now - state.lastMove < config.moveIntervalMs) {
      metrics.count('flowspace_events_rejected_total', { event: 'player:move', reason: 'throttled' });
      return ack?.({ ok: false, error: 'throttled' });
    }
    state.lastMove = now;
    state.position = position.value;
    socket.data.member = { ...socket.data.member, position: position.value };
    socket.to(room(state.spaceId)).emit('player:moved', { id: socket.id, ...position.value });
    ack?.({ ok: true });
  });

  on('chat:message', (payload, ack) => {
    if (!state.spaceId) return fail('chat:message', ack, 'join a space first');
    const text = checkChat(payload, config.chatMaxLength);
    if (!text.ok) return fail('chat:message', ack, text.error);
    const message = { id: socket.id, name: state.name, text: text.value, ts: Date.now() };
    server.in(room(state.spaceId)).emit('chat:message', message);
    ack?.({ ok: true, ts: message.ts });
  });

  on('space:leave', (_payload, ack) => {
    leave();
    ack?.({ ok: true });
  });

  socket.on('disconnect', leave);
}

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`flowspace-socket-server: ${(error as Error).message}`);
    process.exit(2);
  }
  const running = await createSocketServer(config);
  io = running.io;
  console.log(JSON.stringify({ msg: 'listening', host: config.host, port: running.port,
                               metrics: `127.0.0.1:${config.metricsPort}`, redis: Boolean(config.redisUrl) }));
  const stop = (signal: string) => {
    console.log(JSON.stringify({ msg: 'shutting down', signal }));
    // Whatever is still open when the bound runs out is cut off.
    setTimeout(() => process.exit(0), config.shutdownTimeoutMs).unref();
    running.shutdown().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`flowspace-socket-server: ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
}
