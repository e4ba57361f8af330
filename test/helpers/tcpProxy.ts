// A loopback TCP proxy in front of the shared ClickHouse, so a test can "stop ClickHouse" for one worker
// (close the proxy) or hold its responses (the server commits, the client never hears back) without
// touching the server other tests use.
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** While true, data from the server is held back (and dropped if the client dies). */
  holdResponses = false;

  constructor(
    private readonly targetPort: number,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async open(targetPort: number): Promise<TcpProxy> {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const proxy = new TcpProxy(targetPort, port);
    await proxy.start();
    return proxy;
  }

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (!this.holdResponses) client.write(chunk);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    const server = this.server;
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
  }

  /** Refuses new connections and cuts the open ones: what a client sees when the server dies. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise((r) => server.close(r));
  }
}
