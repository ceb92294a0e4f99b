import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { createMetrics } from "../shared/metrics.ts";
import { RENDER_QUEUE_METRIC, type CreateRender } from "./contract.ts";
import { migrations, renderStore } from "./store.ts";
import { renderMetrics } from "./worker.ts";

// The render queue on both engines (PostgreSQL in a deployment, SQLite under `npm start`): a
// scene is held by one worker at a time, a dead worker's scene is taken again once its lease
// runs out, a worker that lost its lease writes nothing, and the last scene moves the render on
// to its join.

const style = { background: "#000000", foreground: "#ffffff", accent: "#ff0000" };
const input = (id: string): CreateRender => ({
  id,
  user_id: "user_1",
  resolution: "640x360",
  voice: false,
  scenes: [
    { duration_seconds: 2, narration: "", visual: { kind: "title", title: "One" }, style },
    {
      duration_seconds: 3,
      narration: "",
      visual: { kind: "image", image_base64: Buffer.from("png").toString("base64") },
      style,
    },
  ],
});

describe.each(["sqlite", "postgres"] as const)("on %s", (engine) => {
  let db: Db;
  let dir: string;
  let clock = 1_000_000;
  const images = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "render-store-"));
    db = await openDb({
      service: "render",
      domain: "business",
      dataDir: dir,
      databaseUrl: engine === "postgres" ? await createDatabase("render_store") : undefined,
    });
    await migrate(db, "render", migrations);
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("leases, fencing, the join, and every attempt on record", async () => {
    const store = renderStore(db, () => clock);
    const id = "vid_0000000000000000000000aa";
    const put = async (key: string, data: Buffer) => void images.set(key, data);
    expect(await store.create(input(id), put)).toBe(true);
    expect(await store.create(input(id), put)).toBe(false);
    expect(images.get(`img-${id}-1`)?.toString()).toBe("png");

    const a = (await store.claimScene(10_000, "worker-a"))!;
    const b = (await store.claimScene(10_000, "worker-b"))!;
    expect([a.index, b.index]).toEqual([0, 1]);
    expect(b.scene!.visual).toEqual({ kind: "image", imageKey: `img-${id}-1` });
    expect(await store.claimScene(10_000, "worker-c")).toBeUndefined();

    // worker-b dies; its lease runs out and worker-c takes the scene again.
    clock += 10_001;
    expect(await store.renew(a, 10_000)).toBe(true);
    const c = (await store.claimScene(10_000, "worker-c"))!;
    expect(c).toMatchObject({ index: 1, attempts: 2 });
    expect(await store.sceneRendered(b, b.attemptId, 5)).toBe(false);
    expect(await store.renew(b, 10_000)).toBe(false);

    expect(await store.sceneRendered(a, a.attemptId, 5)).toBe(true);
    expect((await store.get(id))!.status).toBe("rendering");
    expect(await store.claimJoin(10_000, "worker-a")).toBeUndefined();
    expect(await store.sceneRendered(c, c.attemptId, 5)).toBe(true);
    expect(await store.get(id)).toMatchObject({ status: "joining", progress: 0.667 });

    const join = (await store.claimJoin(10_000, "worker-a"))!;
    expect(await store.clips(id)).toEqual([a.attemptId, c.attemptId]);
    expect(await store.joined(join, "out", 1234)).toBe(true);
    expect(await store.get(id)).toMatchObject({
      status: "succeeded",
      progress: 1,
      output_bytes: 1234,
    });
    expect(await store.output(id)).toBe("out");
    await store.attemptEnded(a.attemptId, "succeeded");

    // The bytes go; the render and its four attempts stay on record.
    const blobs = await store.blobsOf(id, false);
    expect(new Set(blobs)).toEqual(
      new Set([`img-${id}-1`, a.attemptId, b.attemptId, c.attemptId, join.attemptId, "out"]),
    );
    expect(await store.output(id)).toBeUndefined();
    expect((await store.get(id))!.status).toBe("succeeded");
    await store.blobsOf(id, true);
    expect(await store.get(id)).toBeUndefined();
  });

  // KEDA's metrics-api scaler (platform:kedaNamespace) asks any one replica through the Service
  // and reads the first sample of the gauge: every replica must give the whole queue's depth.
  test("every replica's /metrics gives the whole queue's depth as one sample", async () => {
    const store = renderStore(db, () => clock);
    const id = "vid_0000000000000000000000cc";
    await store.create(input(id), async () => undefined);
    const replicas = ["render-a", "render-b"].map(() => {
      const metrics = createMetrics("render");
      renderMetrics(metrics, () => store.queue());
      return metrics;
    });
    const samples = async () =>
      Promise.all(
        replicas.map(async (m) =>
          (await m.registry.metrics())
            .split("\n")
            .filter((line) => line.startsWith(`${RENDER_QUEUE_METRIC}{`)),
        ),
      );
    const waiting = (await store.queue()).scenes_waiting;
    expect(waiting).toBeGreaterThanOrEqual(2);
    const line = `${RENDER_QUEUE_METRIC}{program="render"} ${waiting}`;
    expect(await samples()).toEqual([[line], [line]]);
    const claim = (await store.claimScene(10_000, "render-a"))!;
    await new Promise((r) => setTimeout(r, 150)); // past the gauges' shared read
    const fewer = `${RENDER_QUEUE_METRIC}{program="render"} ${waiting - 1}`;
    expect(await samples()).toEqual([[fewer], [fewer]]);
    expect(await store.sceneRendered(claim, claim.attemptId, 5)).toBe(true);
    await store.blobsOf(id, true); // gone, so the next test has the queue to itself
    expect((await store.queue()).scenes_waiting).toBe(waiting - 2);
  });

  test("a scene that cannot render fails its render, and the other scene's work stops there", async () => {
    const store = renderStore(db, () => clock);
    const id = "vid_0000000000000000000000bb";
    await store.create(input(id), async () => undefined);
    const a = (await store.claimScene(10_000, "w"))!;
    const b = (await store.claimScene(10_000, "w"))!;
    expect(await store.sceneFailed(a, { code: "render_failed", message: "bad picture" })).toBe(
      true,
    );
    expect(await store.get(id)).toMatchObject({
      status: "failed",
      error: { code: "render_failed", message: "scene 0: bad picture" },
    });
    // The other scene finishes, but the render stays failed and is never joined.
    expect(await store.sceneRendered(b, b.attemptId, 5)).toBe(true);
    expect((await store.get(id))!.status).toBe("failed");
    expect(await store.claimJoin(10_000, "w")).toBeUndefined();
  });
});
