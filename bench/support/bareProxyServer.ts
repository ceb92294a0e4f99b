// The least a Node proxy hop can do, for the throughput bench's reference: node:http in front of
// an undici pool, the same parts the router and the gateways are built on, with nothing else (no
// logs, metrics, ids, limits, auth or failover). What the gateway costs above this is its own
// work; what this costs above nginx is Node's.
//   node bench/support/bareProxyServer.ts <port> <upstream host:port>
import { createServer } from "node:http";
import { Pool } from "undici";
import { HOP_BY_HOP } from "../../services/shared/proxy.ts";

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(`http://${upstream}`, { connections: 64 });

const pass = (headers: Record<string, string | string[] | undefined>, keep = "") =>
  Object.fromEntries(
    Object.entries(headers).filter(
      ([name, v]) => v !== undefined && (name === keep || !HOP_BY_HOP.has(name)),
    ),
  ) as Record<string, string | string[]>;

createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const up = await pool.request({
      method: req.method as "GET",
      path: req.url ?? "/",
      headers: pass(req.headers),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(up.statusCode, pass(up.headers, "content-length"));
    up.body.pipe(res);
  } catch {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  }
}).listen(Number(port), "127.0.0.1");
