// The platform's answers replayed, for bench/client.ts's second part: what the client costs on
// its own. Each answer was recorded from the real platform a moment before (status, type and
// bytes, a streamed chat's SSE included); this process sends them back for the same method and
// path, reading and dropping request bodies (uploads) without hashing them. It stands for no
// service: it takes the platform's CPU out of the measurement, so that what is left on the two
// cores is the client. Run as `node replayServer.ts <recordings.json>`; prints its port.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

export interface Recording {
  method: string;
  /** The path's first segments: `/v1/files` answers `/v1/files/file_123` too. */
  prefix: string;
  status: number;
  contentType: string;
  body: string;
}

const recordings = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Recording[];
const answers = recordings.map((r) => ({ ...r, bytes: Buffer.from(r.body) }));

const server = createServer((req, res) => {
  const path = (req.url ?? "/").split("?")[0]!;
  // The longest prefix wins: DELETE /v1/files/x is not POST /v1/files.
  const found = answers
    .filter((a) => a.method === req.method && path.startsWith(a.prefix))
    .sort((a, b) => b.prefix.length - a.prefix.length)[0];
  req.resume();
  req.once("end", () => {
    if (!found) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        `{"error":{"type":"invalid_request_error","code":"not_recorded","message":"${req.method} ${path}"}}`,
      );
      return;
    }
    res.writeHead(found.status, {
      "content-type": found.contentType,
      "content-length": found.bytes.length,
    });
    res.end(found.bytes);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(typeof address === "object" && address ? address.port : "");
});
