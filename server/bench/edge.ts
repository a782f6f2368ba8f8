// What the edge costs: the same socket process reached straight (plain HTTP/WebSocket on
// loopback, as nothing in production does) and through Caddy over TLS (as every browser does),
// side by side in one run: Socket.io moves (bench/load.ts), HTTPS requests to /healthz, and
// WebSocket connection set-up. Needs a caddy binary.
//
//   node dist/bench/edge.js --caddy PATH [--clients 500,1000] [--seconds 10] [--json FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { startCaddy } from './caddy';
import { arg, cpuSeconds, line, load, ORIGIN, percentile, Result, start } from './load';

const CONCURRENT_REQUESTS = 20;
const CONNECTIONS = 300;

interface Path { name: string; url: string; tls: boolean }

function get(url: string, agent: http.Agent): Promise<void> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    client.get(url, { agent, rejectUnauthorized: false } as https.RequestOptions, (res) => {
      res.resume().on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

// CONCURRENT_REQUESTS keep-alive clients asking /healthz for `seconds`.
async function requests(url: string, seconds: number): Promise<{ count: number; perSecond: number; p50: number; p99: number }> {
  const agent = new (url.startsWith('https:') ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: CONCURRENT_REQUESTS });
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONCURRENT_REQUESTS }, async () => {
    while (Date.now() < until) {
      const sent = process.hrtime.bigint();
      await get(`${url}/healthz`, agent);
      latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
    }
  }));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { count: latencies.length, perSecond: Math.round(latencies.length / seconds),
           p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) };
}

// CONNECTIONS Socket.io clients connected one after another (each a new TCP, and TLS, session).
async function connections(url: string): Promise<{ count: number; perSecond: number }> {
  const started = Date.now();
  for (let i = 0; i < CONNECTIONS; i += 1) {
    const socket = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true,
                                  rejectUnauthorized: false, extraHeaders: { Origin: ORIGIN } });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    socket.close();
  }
  return { count: CONNECTIONS, perSecond: Math.round(CONNECTIONS / ((Date.now() - started) / 1000)) };
}

async function main(): Promise<void> {
  const caddy = arg('caddy', '');
  const sizes = arg('clients', '500,1000').split(',').map(Number);
  const seconds = Number(arg('seconds', '10'));
  if (!caddy || spawnSync(caddy, ['version']).status !== 0) throw new Error('--caddy must name a caddy binary');
  if (sizes.some((n) => !(n > 0 && n <= 5000)) || !(seconds > 0 && seconds <= 60)) {
    throw new Error('--clients sizes 1-5000, --seconds 1-60');
  }
  const script = path.join(__dirname, '..', 'socket-server.js');
  const server = await start(script, { PORT: '0', METRICS_PORT: '0', ALLOW_ANONYMOUS: 'true', ALLOWED_ORIGINS: ORIGIN,
                                       EVENTS_PER_SECOND: '1000', EVENT_BURST: '1000' });
  const front = await startCaddy(caddy, (port) => `https://127.0.0.1:${port} {\n\ttls internal\n`
    + `\treverse_proxy 127.0.0.1:${server.port}\n}\n`);
  const paths: Path[] = [{ name: 'straight', url: `http://127.0.0.1:${server.port}`, tls: false },
                         { name: 'through Caddy', url: `https://127.0.0.1:${front.port}`, tls: true }];
  const caddyCpu = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const before = cpuSeconds(front.child.pid!);
    const started = Date.now();
    const result = await work();
    return [result, Math.round(((cpuSeconds(front.child.pid!) - before) / ((Date.now() - started) / 1000)) * 100)];
  };
  const moves: (Result & { path: string; caddyCpuPercent: number })[] = [];
  const http_: object[] = [];
  const setups: object[] = [];
  try {
    for (const clients of sizes) {
      for (const p of paths) {
        const [result, caddyPercent] = await caddyCpu(() => load(p.name, p.url, [server.child.pid!], clients, seconds,
          () => ({ rejectUnauthorized: false })));
        moves.push({ ...result, path: p.name, caddyCpuPercent: caddyPercent });
        console.log(`${line(clients, p.name, result)}  Caddy CPU ${caddyPercent}%`);
      }
    }
    for (const p of paths) {
      const [result, caddyPercent] = await caddyCpu(() => requests(p.url, seconds));
      http_.push({ path: p.name, ...result, caddyCpuPercent: caddyPercent });
      console.log(`requests  ${p.name.padEnd(14)} ${String(result.perSecond).padStart(6)}/s  p50 ${result.p50} ms`
        + `  p99 ${result.p99} ms  Caddy CPU ${caddyPercent}%  (${CONCURRENT_REQUESTS} keep-alive clients, /healthz)`);
    }
    for (const p of paths) {
      const result = await connections(p.url);
      setups.push({ path: p.name, ...result });
      console.log(`connects  ${p.name.padEnd(14)} ${String(result.perSecond).padStart(6)}/s  (${result.count} Socket.io`
        + ` WebSocket connections one after another${p.tls ? ', each with its own TLS handshake' : ''})`);
    }
  } finally {
    front.child.kill('SIGTERM');
    server.child.kill('SIGTERM');
  }
  const output = arg('json', '');
  if (output) {
    writeFileSync(output, JSON.stringify({ cores: os.cpus().length, loadavg: os.loadavg(), moves, requests: http_,
                                           connections: setups }, null, 2));
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(`edge benchmark: ${(error as Error).message}`);
  process.exit(1);
});
