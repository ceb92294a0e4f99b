import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { Redis } from "ioredis";
import pg from "pg";
import { TEST_SERVER_ENV, createDatabase, startKafka, startPostgres, startRedis } from "./index.ts";
import type { TestServer } from "./index.ts";

// Under the jest global setup the shared servers are used; without it (e.g. this file alone with
// the default config) the test starts its own, so it proves the start functions either way.
const owned: TestServer[] = [];

async function serverUrl(variable: string, start: () => Promise<TestServer>): Promise<string> {
  const shared = process.env[variable];
  if (shared) return shared;
  const server = await start();
  owned.push(server);
  return server.url;
}

afterAll(async () => {
  await Promise.all(owned.map((server) => server.stop()));
});

describe("redis", () => {
  let url: string;
  const clients: Redis[] = [];
  const connect = (): Redis => {
    const client = new Redis(url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    url = await serverUrl(TEST_SERVER_ENV.redis, startRedis);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });

  test("stores and reads back a value", async () => {
    const client = connect();
    const key = `set-get:${randomBytes(4).toString("hex")}`;
    expect(await client.set(key, "hello", "EX", 60)).toBe("OK");
    expect(await client.get(key)).toBe("hello");
  });

  test("INCR from two connections at once hands out every number exactly once", async () => {
    const [a, b] = [connect(), connect()];
    const key = `incr:${randomBytes(4).toString("hex")}`;
    const perClient = 200;
    const burst = (client: Redis) =>
      Promise.all(Array.from({ length: perClient }, () => client.incr(key)));
    const [fromA, fromB] = await Promise.all([burst(a), burst(b)]);
    const all = [...fromA, ...fromB].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 2 * perClient }, (_, i) => i + 1));
    expect(await a.get(key)).toBe(String(2 * perClient));
  });

  test("stop() kills the server", async () => {
    const server = await startRedis();
    const probe = new Redis(server.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on("error", () => undefined);
    await probe.connect();
    expect(await probe.ping()).toBe("PONG");
    probe.disconnect();
    await server.stop();
    const { port } = new URL(server.url);
    const refused = new Promise<string>((resolve) => {
      const socket = createConnection(Number(port), "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(await refused).toBe("ECONNREFUSED");
  });
});

describe("postgres", () => {
  const clients: pg.Client[] = [];
  const connect = async (url: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  };
  let server: string;
  let databaseUrl: string;

  beforeAll(async () => {
    server = await serverUrl(TEST_SERVER_ENV.postgres, startPostgres);
    databaseUrl = await createDatabase("servers_test", server);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
  });

  test("creates a table, inserts and selects", async () => {
    const client = await connect(databaseUrl);
    await client.query("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)");
    await client.query("INSERT INTO items (name) VALUES ($1), ($2)", ["alpha", "beta"]);
    const { rows } = await client.query<{ name: string }>("SELECT name FROM items ORDER BY id");
    expect(rows.map((row) => row.name)).toEqual(["alpha", "beta"]);
  });

  test("a transaction is invisible to others until COMMIT and gone after ROLLBACK", async () => {
    const [writer, reader] = [await connect(databaseUrl), await connect(databaseUrl)];
    await writer.query("CREATE TABLE ledger (entry text PRIMARY KEY)");
    const count = async () =>
      (await reader.query<{ n: string }>("SELECT count(*) AS n FROM ledger")).rows[0].n;

    await writer.query("BEGIN");
    await writer.query("INSERT INTO ledger VALUES ('rolled-back')");
    expect(await count()).toBe("0");
    await writer.query("ROLLBACK");
    expect(await count()).toBe("0");

    await writer.query("BEGIN");
    await writer.query("INSERT INTO ledger VALUES ('committed')");
    expect(await count()).toBe("0");
    await writer.query("COMMIT");
    const { rows } = await reader.query<{ entry: string }>("SELECT entry FROM ledger");
    expect(rows).toEqual([{ entry: "committed" }]);
  });

  test("createDatabase gives each caller a database of its own", async () => {
    const other = await createDatabase("servers_test", server);
    expect(other).not.toBe(databaseUrl);
    const first = await connect(databaseUrl);
    const second = await connect(other);
    await first.query("CREATE TABLE only_here (x int)");
    const { rows } = await second.query<{ found: string | null }>(
      "SELECT to_regclass('only_here') AS found",
    );
    expect(rows[0].found).toBeNull();
  });
});

describe("kafka", () => {
  let brokers: string[];

  beforeAll(async () => {
    brokers = [await serverUrl(TEST_SERVER_ENV.kafka, startKafka)];
  });

  test("a topic takes 3 messages from a Producer and a Consumer reads them back in order", async () => {
    const topic = `servers-test-${randomBytes(4).toString("hex")}`;
    const admin = new Admin({ clientId: "servers-test-admin", bootstrapBrokers: brokers });
    const producer = new Producer({
      clientId: "servers-test-producer",
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
    });
    const consumer = new Consumer({
      clientId: "servers-test-consumer",
      groupId: `${topic}-group`,
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      maxWaitTime: 500,
    });
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const sent = [1, 2, 3].map((n) => ({ topic, key: `key-${n}`, value: `value-${n}` }));
      const result = await producer.send({ messages: sent, acks: ProduceAcks.ALL });
      expect(result.offsets?.[0]).toMatchObject({ topic, partition: 0 });

      const stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: true,
      });
      const received: { key: string; value: string; offset: bigint }[] = [];
      for await (const message of stream) {
        received.push({ key: message.key, value: message.value, offset: message.offset });
        if (received.length === sent.length) break;
      }
      await stream.close();
      expect(received.map(({ key, value }) => ({ topic, key, value }))).toEqual(sent);
      expect(received.map(({ offset }) => offset)).toEqual([0n, 1n, 2n]);
    } finally {
      await consumer.close(true);
      await producer.close();
      await admin.close();
    }
  });
});
