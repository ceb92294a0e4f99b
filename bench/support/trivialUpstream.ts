// An upstream that costs next to nothing, for bench/hopCost.ts: every path answers a fixed page
// of 20 orders (the size of the throughput bench's answer), and `/internal/verify` a principal,
// so that a gateway in front of it verifies keys here too. It stands for no service: it takes
// the service and its database out of the measurement, so the hop in front is all there is.
// Started by a Supervisor like the platform's programs: PORT in the environment, and the
// "listening" message on the IPC channel.
import { createServer } from "node:http";
import { envKey } from "../../platform/runtimeEnv.ts";

const page = JSON.stringify({
  data: Array.from({ length: 20 }, (_, i) => ({
    id: `ord_${String(i).padStart(24, "0")}`,
    item: `bench item ${i}`,
    quantity: 1 + (i % 5),
    createdAt: "2026-12-03T12:00:00.000Z",
  })),
  hasMore: true,
});
const principal = JSON.stringify({
  principal: { userId: "usr_bench", keyId: "key_bench", plan: "free" },
});

createServer((req, res) => {
  req.resume();
  req.once("end", () => {
    const body = req.url === "/internal/verify" ? principal : page;
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
}).listen(Number(process.env[envKey.port]), "127.0.0.1", () =>
  process.send?.({ type: "listening", port: Number(process.env[envKey.port]) }),
);
