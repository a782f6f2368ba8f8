// FlowSpace's realtime server: a space is a Socket.io room. Players join a space, see each
// other's positions, move, chat, and leave; presence follows disconnects. Every payload is
// validated; a bad one gets an error ack and reaches nobody else. Moves are coalesced and sent
// once per tick per space; chat and joins keep their order and are sent as they come.
import http from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server, Socket } from 'socket.io';
import { mayEnter, User, verify } from './src/auth';
import { Config, loadConfig, maxMessageBytes, SettingError } from './src/config';
import { Metrics } from './src/metrics';
import { MoveCoalescer } from './src/moves';
import { distinctName } from './src/names';
import { EventGate, TokenBucket } from './src/rate-limit';
import { checkChat, checkJoin, checkPosition, Position } from './src/validation';

type Ack = (answer: Record<string, unknown>) => void;

interface Member { id: string; name: string; position: Position }

interface PlayerState {
  spaceId?: string;
  name?: string;
  position: Position;
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify({
        status: 'ok',
        uptime: Math.round((Date.now() - started) / 1000),
        connections: server.engine.clientsCount,
      });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
  });

  const allowed = new Set(config.allowedOrigins);
  const server = new Server(httpServer, {
    cors: { origin: config.allowedOrigins, methods: ['GET', 'POST'] },
    maxHttpBufferSize: maxMessageBytes(config),
  });
  // Every request of every session, not only the handshake: a page elsewhere cannot poll or
  // upgrade a session someone else opened. Browsers always send Origin; clients that send none
  // (servers, tests) are let in. JSONP polling, which no browser of this app needs, is refused.
  server.engine.use((req: http.IncomingMessage, res: http.ServerResponse, next: (error?: Error) => void) => {
    const origin = req.headers.origin;
    const jsonp = new URL(req.url ?? '/', 'http://localhost').searchParams.has('j');
    if ((origin !== undefined && !allowed.has(origin)) || jsonp) {
      metrics.count('flowspace_requests_refused_total', { reason: jsonp ? 'jsonp' : 'origin' });
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end('{"error":"forbidden"}');
      return;
    }
    next();
  });

  const metrics = new Metrics(() => ({
    flowspace_connections: server.engine.clientsCount,
    flowspace_spaces: [...server.of('/').adapter.rooms.keys()].filter((r) => r.startsWith('space:')).length,
    flowspace_uptime_seconds: Math.round((Date.now() - started) / 1000),
  }));

  // Several processes share spaces through Redis streams (the streams adapter, not pub/sub:
  // what a process sends while Redis restarts is appended once Redis is back and read by
  // every process from where it stopped, where pub/sub loses it when the publish wins the
  // race with the subscribers' return; see the README's "Scaling out").
  let redisClient: ReturnType<typeof createClient> | undefined;
  if (config.redisUrl) {
    redisClient = createClient({ url: config.redisUrl });
    // A lost connection is reported as an 'error' event while the client reconnects by itself;
    // unheard, that event would end the process and drop every player on it.
    redisClient.on('error', (error: Error) => {
      metrics.count('flowspace_redis_errors_total');
      console.error(JSON.stringify({ msg: 'redis', error: error.message }));
    });
    await redisClient.connect();
    server.adapter(createAdapter(redisClient));
  }

  const moves = new MoveCoalescer();
  const tick = setInterval(() => {
    const sent = moves.flush((spaceId, batch) => server.to(room(spaceId)).emit('players:moved', { moves: batch }));
    if (sent) metrics.add('flowspace_moves_sent_total', sent);
  }, config.moveIntervalMs);
  tick.unref();

  // Without a token the app signed there is no connection (unless ALLOW_ANONYMOUS).
  const keys = config.auth;
  if (keys) {
    server.use((socket, next) => {
      const verified = verify(socket.handshake.auth?.token, keys);
      if (!verified.ok) {
        metrics.count('flowspace_requests_refused_total', { reason: 'unauthorized' });
        return next(new Error(verified.error));
      }
      socket.data.user = verified.user;
      next();
    });
  }

  server.on('connection', (socket: Socket) => handleConnection(socket, server, config, metrics, moves));

  await listen(httpServer, config.port, config.host, 'PORT');
  const metricsServer = await metrics.listen(config.metricsPort).catch((error: NodeJS.ErrnoException) => {
    httpServer.close();
    throw new SettingError(`METRICS_PORT ${config.metricsPort} cannot be used: ${error.code ?? error.message}`);
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const shutdown = async () => {
    clearInterval(tick);
    // Stop taking connections, tell clients, then let the rest close within the bound.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Idle keep-alive connections (the edge keeps some open) would hold the close until the
      // bound; Node 19+ closes them itself.
      httpServer.closeIdleConnections();
    });
    metricsServer.close();
    await redisClient?.quit().catch(() => undefined);
  };

  return { io: server, http: httpServer, metrics, metricsServer, port, shutdown };
}

function listen(httpServer: http.Server, port: number, host: string, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(new SettingError(`${variable} ${port} on ${host} cannot be used: ${error.code ?? error.message}`));
    httpServer.once('error', failed);
    httpServer.listen(port, host, () => {
      httpServer.off('error', failed);
      resolve();
    });
  });
}

function handleConnection(socket: Socket, server: Server, config: Config, metrics: Metrics,
                          moves: MoveCoalescer): void {
  const state: PlayerState = { position: { x: 0, y: 0 } };
  const gate = new EventGate(new TokenBucket(config.eventsPerSecond, config.eventBurst), config.eventBurst);
  metrics.count('flowspace_connections_total');

  // Every incoming event, handled or not, is counted against the connection's limit first.
  socket.use((packet, next) => {
    const [event] = packet;
    const verdict = gate.admit();
    if (verdict === 'pass') return next();
    metrics.count('flowspace_events_rejected_total', { event: known(event), reason: 'rate_limited' });
    if (verdict === 'refuse') {
      const ack = packet[packet.length - 1];
      if (typeof ack === 'function') (ack as Ack)({ ok: false, error: 'rate_limited: too many events' });
    } else if (verdict === 'disconnect') {
      metrics.count('flowspace_disconnects_total', { reason: 'flood' });
      socket.disconnect(true);
    }
  });

  const on = (event: string, handler: (payload: unknown, ack: Ack | undefined) => void | Promise<void>) => {
    socket.on(event, (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
      metrics.count('flowspace_events_total', { event });
      const crashed = (error: Error) => {
        metrics.count('flowspace_events_rejected_total', { event, reason: 'internal' });
        ack?.({ ok: false, error: `internal: ${error.message}` });
      };
      try {
        Promise.resolve(handler(args[0], ack)).catch(crashed);
      } catch (error) {
        crashed(error as Error);
      }
    });
  };
  const fail = (event: string, ack: Ack | undefined, error: string) => {
    metrics.count('flowspace_events_rejected_total', { event, reason: 'invalid' });
    ack?.({ ok: false, error });
  };

  const leave = () => {
    if (!state.spaceId) return;
    moves.forget(state.spaceId, socket.id);
    socket.to(room(state.spaceId)).emit('space:member-left', { id: socket.id });
    socket.leave(room(state.spaceId));
    state.spaceId = undefined;
  };

  // The members a join reports: every node's, or, when a node does not answer within
  // JOIN_TIMEOUT_MS, this node's alone (`partial: true`). The join itself never depends on it.
  const membersOf = async (spaceId: string): Promise<{ members: Member[]; partial: boolean }> => {
    try {
      // A hung node must not hold a join longer than JOIN_TIMEOUT_MS.
      const sockets = await server.in(room(spaceId)).timeout(config.joinTimeoutMs).fetchSockets();
      return { members: sockets.map((s) => s.data.member as Member), partial: false };
    } catch {
      metrics.count('flowspace_partial_joins_total');
      const local = await server.local.in(room(spaceId)).fetchSockets();
      return { members: local.map((s) => s.data.member as Member), partial: true };
    }
  };

  on('space:join', async (payload, ack) => {
    let user = socket.data.user as User | undefined;
    // A fresher token may come with the join (tokens are short-lived); else the handshake's.
    const fresh = typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined;
    if (config.auth && fresh !== undefined) {
      const verified = verify(fresh, config.auth);
      if (!verified.ok) return fail('space:join', ack, verified.error);
      user = verified.user;
    }
    // With a token, the display name is the token's, whatever the client sends.
    const join = checkJoin(user && typeof payload === 'object' && payload !== null
      ? { ...payload, name: user.name } : payload);
    if (!join.ok) return fail('space:join', ack, join.error);
    if (user && !mayEnter(user, join.value.spaceId)) {
      return fail('space:join', ack, `forbidden: the token does not admit space ${join.value.spaceId}`);
    }
    socket.data.user = user;
    leave();
    const { members, partial } = await membersOf(join.value.spaceId);
    const others = members.filter((m) => m && m.id !== socket.id);
    state.spaceId = join.value.spaceId;
    state.name = distinctName(join.value.name, others.map((m) => m.name));
    state.position = join.value.position;
    const self: Member = { id: socket.id, name: state.name, position: state.position };
    socket.data.member = self;
    socket.join(room(state.spaceId));
    socket.to(room(state.spaceId)).emit('space:member-joined', self);
    ack?.({ ok: true, self: socket.id, name: state.name, members: [...others, self], partial });
  });

  on('player:move', (payload, ack) => {
    if (!state.spaceId) return fail('player:move', ack, 'join a space first');
    const position = checkPosition(payload);
    if (!position.ok) return fail('player:move', ack, position.error);
    state.position = position.value;
    socket.data.member = { ...socket.data.member, position: position.value };
    moves.set(state.spaceId, socket.id, position.value);
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

// Metric labels name only the events the server knows, so a flood of made-up names cannot
// grow the metrics without bound.
const EVENTS = new Set(['space:join', 'player:move', 'chat:message', 'space:leave']);
function known(event: unknown): string {
  return typeof event === 'string' && EVENTS.has(event) ? event : 'other';
}

export async function main(): Promise<void> {
  let running: SocketServer;
  let config: Config;
  try {
    config = loadConfig();
    running = await createSocketServer(config);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    console.error(`flowspace-socket-server: ${(error as Error).message}`);
    process.exit(2);
  }
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
