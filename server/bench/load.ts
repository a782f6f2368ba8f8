// The load the benchmarks put on socket servers: N clients in spaces of 10, each sending 10
// moves a second for a bounded time. Reported: the share of (player, peer) pairs where the peer
// ended up with the player's latest position, the latency of the positions received (p50,
// p99), and the CPU and RSS of the given server processes.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { io as connect, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';

export const SPACE_SIZE = 10;
export const MOVES_PER_SECOND = 10;
export const ORIGIN = 'https://bench.flowspace.test';
const SETTLE_MS = 1000;
// Positions carry their send time as y, in ms since this moment (coordinates stay within ±1e6).
const EPOCH = Date.now();
const TICKS = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ on Linux)

export interface Result {
  server: string; clients: number; seconds: number; latestReached: number; p50: number; p99: number;
  received: number; sent: number; serverCpuSeconds: number; serverCpuPercent: number; rssMB: number;
}

export function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

// A server process that prints one JSON line with its port once it listens.
export function start(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (line: Buffer) => resolve({ child, port: JSON.parse(line.toString().split('\n')[0]).port }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

export function rssMB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

type ClientOptions = Partial<ManagerOptions & SocketOptions> & { localAddress?: string };

// Connects `clients` players to `url` (options(i) adds client i's own connection options, such
// as the local address it leaves from), runs the moves for `seconds`, and measures the servers
// whose process IDs are given.
export async function load(server: string, url: string, pids: number[], clients: number, seconds: number,
                           options: (i: number) => ClientOptions = () => ({})): Promise<Result> {
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  // latest[peer][player] = the highest sequence number the peer saw of the player
  const latest = new Map<string, Map<string, number>>();
  const lastSent = new Map<string, number>();
  let received = 0;
  let sent = 0;
  const record = (peer: string, id: string, x: number, y: number) => {
    received += 1;
    latencies.push(Date.now() - EPOCH - y);
    const seen = latest.get(peer)!;
    if ((seen.get(id) ?? -1) < x) seen.set(id, x);
  };
  try {
    for (let i = 0; i < clients; i += 1) {
      const socket = connect(url, { transports: ['websocket'], reconnection: false,
        extraHeaders: { Origin: ORIGIN }, ...options(i) });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      await socket.timeout(10000).emitWithAck('space:join', { spaceId: `bench-${Math.floor(i / SPACE_SIZE)}`, name: `p${i}` });
      const self = socket.id!;
      latest.set(self, new Map());
      socket.on('player:moved', (m: { id: string; x: number; y: number }) => record(self, m.id, m.x, m.y));
      socket.on('players:moved', (b: { moves: { id: string; x: number; y: number }[] }) => {
        for (const m of b.moves) if (m.id !== self) record(self, m.id, m.x, m.y);
      });
      sockets.push(socket);
    }
    const cpuOf = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpuBefore = cpuOf();
    const started = Date.now();
    const interval = 1000 / MOVES_PER_SECOND;
    // Each client moves on its own phase, so the load is spread over the interval.
    const timers = sockets.map((socket, i) => setTimeout(() => {
      let seq = 0;
      const timer = setInterval(() => {
        if (Date.now() - started >= seconds * 1000) return clearInterval(timer);
        seq += 1;
        lastSent.set(socket.id!, seq);
        sent += 1;
        socket.emit('player:move', { x: seq, y: Date.now() - EPOCH });
      }, interval);
    }, (i * interval) / sockets.length));
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + SETTLE_MS));
    timers.forEach(clearTimeout);
    const cpu = cpuOf() - cpuBefore;
    const elapsed = (Date.now() - started) / 1000;
    let pairs = 0;
    let reached = 0;
    for (const [i, socket] of sockets.entries()) {
      const space = Math.floor(i / SPACE_SIZE);
      for (const [j, peer] of sockets.entries()) {
        if (j === i || Math.floor(j / SPACE_SIZE) !== space) continue;
        pairs += 1;
        if (latest.get(peer.id!)!.get(socket.id!) === lastSent.get(socket.id!)) reached += 1;
      }
    }
    latencies.sort((a, b) => a - b);
    return { server, clients, seconds, latestReached: pairs ? reached / pairs : NaN,
             p50: percentile(latencies, 50), p99: percentile(latencies, 99), received, sent,
             serverCpuSeconds: Math.round(cpu * 10) / 10, serverCpuPercent: Math.round((cpu / elapsed) * 100),
             rssMB: pids.reduce((sum, pid) => sum + rssMB(pid), 0) };
  } finally {
    sockets.forEach((s) => s.close());
  }
}

export function line(clients: number, name: string, result: Result): string {
  return `${String(clients).padStart(5)} clients  ${name.padEnd(16)} latest reached ${(result.latestReached * 100).toFixed(1).padStart(5)}%`
    + `  p50 ${String(result.p50).padStart(6)} ms  p99 ${String(result.p99).padStart(6)} ms`
    + `  server CPU ${String(result.serverCpuPercent).padStart(3)}%  RSS ${result.rssMB} MB`
    + `  (${result.received} positions received for ${result.sent} moves)`;
}
