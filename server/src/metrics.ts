// Prometheus text exposition for a handful of counters and gauges; served on loopback only.
import http from 'node:http';

export class Metrics {
  private readonly counters = new Map<string, number>();

  constructor(private readonly gauges: () => Record<string, number>) {}

  count(name: string, labels: Record<string, string> = {}): void {
    this.add(name, 1, labels);
  }

  add(name: string, amount: number, labels: Record<string, string> = {}): void {
    const key = name + labelText(labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + amount);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, value] of Object.entries(this.gauges())) {
      lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    }
    const seen = new Set<string>();
    for (const [key, value] of [...this.counters.entries()].sort()) {
      const name = key.split('{')[0];
      if (!seen.has(name)) lines.push(`# TYPE ${name} counter`);
      seen.add(name);
      lines.push(`${key} ${value}`);
    }
    return lines.join('\n') + '\n';
  }

  // Rejects when the port cannot be had (EADDRINUSE...), rather than crashing the process.
  listen(port: number, host = '127.0.0.1'): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
