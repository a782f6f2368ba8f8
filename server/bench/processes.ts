// One socket process against N processes sharing spaces through Redis, each behind Caddy as the
// edge balances them in production (client_ip_hash), the same load (bench/load.ts) side by
// side in one run. Clients leave from different loopback addresses (127.0.1.x), so the edge
// spreads them as it spreads browsers. Needs redis-server and a caddy binary.
//
//   node dist/bench/processes.js --caddy PATH [--processes 4] [--clients 1000,2000] [--seconds 10] [--json FILE]
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, listening, startCaddy } from './caddy';
import { arg, line, load, MOVES_PER_SECOND, ORIGIN, Result, SPACE_SIZE, start } from './load';

const SOURCES = 200; // client addresses 127.0.1.1 ... 127.0.1.200

// Caddy in front of the upstreams, with the site options the stack gives a balanced site.
function edge(caddy: string, upstreams: number[]): Promise<{ child: ChildProcess; port: number }> {
  return startCaddy(caddy, (port) => `http://127.0.0.1:${port} {\n\treverse_proxy ${upstreams.map((p) => `127.0.0.1:${p}`).join(' ')} {\n`
    + '\t\tlb_policy client_ip_hash\n\t\tlb_try_duration 10s\n\t\tfail_duration 30s\n'
    + '\t\thealth_uri /healthz\n\t\thealth_interval 2s\n\t\thealth_timeout 2s\n\t}\n}\n');
}

async function main(): Promise<void> {
  const caddy = arg('caddy', '');
  const processes = Number(arg('processes', '4'));
  const sizes = arg('clients', '1000,2000').split(',').map(Number);
  const seconds = Number(arg('seconds', '10'));
  if (!caddy || spawnSync(caddy, ['version']).status !== 0) throw new Error('--caddy must name a caddy binary');
  if (!(processes >= 2 && processes <= 16) || sizes.some((n) => !(n > 0 && n <= 5000)) || !(seconds > 0 && seconds <= 60)) {
    throw new Error('--processes takes 2-16, --clients sizes 1-5000, --seconds 1-60');
  }
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
                      { stdio: 'ignore' });
  const script = path.join(__dirname, '..', 'socket-server.js');
  const env = { PORT: '0', METRICS_PORT: '0', ALLOW_ANONYMOUS: 'true', ALLOWED_ORIGINS: ORIGIN,
                EVENTS_PER_SECOND: '1000', EVENT_BURST: '1000' };
  const results: Result[] = [];
  try {
    await listening(redisPort);
    for (const clients of sizes) {
      for (const count of [1, processes]) {
        const name = count === 1 ? '1 process' : `${count} processes`;
        // One process runs alone, as a one-host stack does; several share Redis.
        const servers = await Promise.all(Array.from({ length: count }, () => start(script,
          count === 1 ? env : { ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}` })));
        const front = await edge(caddy, servers.map((s) => s.port));
        try {
          const result = await load(name, `http://127.0.0.1:${front.port}`, servers.map((s) => s.child.pid!),
            clients, seconds, (i) => ({ localAddress: `127.0.1.${1 + (i % SOURCES)}` }));
          results.push(result);
          console.log(line(clients, name, result));
        } finally {
          front.child.kill('SIGTERM');
          // Gone before the next round (and before Redis stops, which they would report).
          await Promise.all(servers.map((s) => new Promise((resolve) => {
            s.child.once('exit', resolve);
            s.child.kill('SIGTERM');
          })));
        }
      }
    }
  } finally {
    redis.kill();
  }
  const output = arg('json', '');
  if (output) {
    writeFileSync(output, JSON.stringify({ cores: os.cpus().length, loadavg: os.loadavg(), spaceSize: SPACE_SIZE,
                                           movesPerSecond: MOVES_PER_SECOND, processes, results }, null, 2));
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(`processes benchmark: ${(error as Error).message}`);
  process.exit(1);
});
