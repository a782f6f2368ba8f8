// Moves under load, the project's server and a plain Socket.io server side by side in one run:
// N clients in spaces of 10, each sending 10 moves a second for a bounded time, all on
// loopback (bench/load.ts).
//
//   node dist/bench/moves.js [--clients 200,1000,2000] [--seconds 10] [--json FILE]
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, line, load, MOVES_PER_SECOND, ORIGIN, Result, SPACE_SIZE, start } from './load';

async function main(): Promise<void> {
  const sizes = arg('clients', '200,1000,2000').split(',').map(Number);
  const seconds = Number(arg('seconds', '10'));
  if (sizes.some((n) => !(n > 0 && n <= 5000)) || !(seconds > 0 && seconds <= 60)) {
    throw new Error('--clients takes sizes 1-5000, --seconds 1-60');
  }
  const project = path.join(__dirname, '..', 'socket-server.js');
  const plain = path.join(__dirname, 'plain-server.js');
  const projectEnv = { PORT: '0', METRICS_PORT: '0', ALLOW_ANONYMOUS: 'true', ALLOWED_ORIGINS: ORIGIN,
                       EVENTS_PER_SECOND: '1000', EVENT_BURST: '1000' };
  const results: Result[] = [];
  for (const clients of sizes) {
    for (const [name, script, env] of [['flowspace', project, projectEnv], ['plain socket.io', plain, { PORT: '0' }]] as const) {
      const { child, port } = await start(script, env);
      try {
        const result = await load(name, `http://127.0.0.1:${port}`, [child.pid!], clients, seconds);
        results.push(result);
        console.log(line(clients, name, result));
      } finally {
        child.kill('SIGTERM');
      }
    }
  }
  const output = arg('json', '');
  if (output) {
    writeFileSync(output, JSON.stringify({ cores: os.cpus().length, loadavg: os.loadavg(), spaceSize: SPACE_SIZE,
                                           movesPerSecond: MOVES_PER_SECOND, results }, null, 2));
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(`moves benchmark: ${(error as Error).message}`);
  process.exit(1);
});
