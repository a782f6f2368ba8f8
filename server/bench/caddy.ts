// Caddy for the benchmarks: a throwaway config in a temporary folder, started and awaited.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function listening(port: number, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(!!socket.end())).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

// Caddy serving `site(port)` (a site block for the port it gets); `tls internal` sites get a
// certificate from Caddy's own local CA, which the benchmark's clients do not verify.
export async function startCaddy(caddy: string, site: (port: number) => string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowspace-bench-'));
  const config = path.join(dir, 'Caddyfile');
  writeFileSync(config, '{\n\tadmin off\n\tpersist_config off\n\tskip_install_trust\n\tauto_https disable_redirects\n}\n\n'
    + site(port));
  const child = spawn(caddy, ['run', '--config', config, '--adapter', 'caddyfile'],
                      { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir } });
  await listening(port);
  return { child, port };
}
