import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { probe } from "../../services/render/media.ts";
import { createDatabase } from "../servers/index.ts";
import { requireEnv } from "../support/kafka.ts";
import {
  newUsersKey,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// Layer 6 (AI video generation) through `npm start`'s topology on real PostgreSQL, Redis and
// Kafka, with the language model on: router -> business gateway -> video, whose orchestrator
// asks chat (-> model -> inference) for a storyboard and hands its scenes to the render workers
// (FFmpeg), then keeps the joined MP4. Checked with ffprobe, a Range request, a render worker
// killed mid-scene, and the feedback loop through analytics.

jest.setTimeout(600_000);

let topo: RunningTopology;
let databaseUrl: string;
let work: string;

beforeAll(async () => {
  databaseUrl = await createDatabase("e2e_video");
  topo = await startTopology({
    DATABASE_URL: databaseUrl,
    REDIS_URL: requireEnv("TEST_REDIS_URL"),
    KAFKA_BROKERS: requireEnv("TEST_KAFKA_BROKERS"),
    INFERENCE_LLM: "on",
  });
  work = await mkdtemp(join(tmpdir(), "e2e-video-"));
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  expect(await topo?.stop()).toBe(0);
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function api(key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${topo.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
}

/** Follows a video until it ends; answers it with every status it was seen in. */
async function finished(key: string, id: string) {
  const seen = new Set<string>();
  for (;;) {
    const { body } = await api(key, "GET", `/v1/videos/${id}`);
    seen.add(body["status"]);
    if (body["status"] === "succeeded" || body["status"] === "failed") return { video: body, seen };
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

async function content(key: string, id: string, range?: string) {
  const res = await fetch(`${topo.url}/v1/videos/${id}/content`, {
    headers: { authorization: `Bearer ${key}`, ...(range ? { range } : {}) },
  });
  return { res, data: Buffer.from(await res.arrayBuffer()) };
}

async function picture(): Promise<Buffer> {
  const file = join(work, "picture.png");
  await promisify(execFile)("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=1"],
    ...["-frames:v", "1", file],
  ]);
  return readFile(file);
}

async function upload(key: string, data: Buffer, type: string, purpose: string) {
  const form = new FormData();
  form.set("purpose", purpose);
  form.set("file", new Blob([data], { type }), "picture.png");
  const res = await fetch(`${topo.url}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function query<T extends Json>(sql: string, params: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

test("bad input is a 4xx naming the field, and nothing is queued", async () => {
  const other = await newUsersKey(topo.url, databaseUrl, "other-video@example.com");
  const theirs = await upload(other, await picture(), "image/png", "vision");
  expect(theirs.status).toBe(200);
  const good = { prompt: "The water cycle", duration_seconds: 5, resolution: "640x360" };
  const cases: [unknown, number, string][] = [
    [{ ...good, duration_seconds: 0 }, 400, "duration_seconds"],
    [{ ...good, duration_seconds: 61 }, 400, "duration_seconds"],
    [{ ...good, resolution: "1920x1080" }, 400, "resolution"],
    [{ ...good, prompt: "   " }, 400, "prompt"],
    [{ ...good, image_file_ids: [theirs.body["id"]] }, 404, "image_file_ids.0"],
  ];
  for (const [body, status, param] of cases) {
    const res = await api(topo.apiKey, "POST", "/v1/videos", body);
    expect({ body, status: res.status, param: res.body["error"]?.param }).toEqual({
      body,
      status,
      param,
    });
    expect(res.body["error"].message).toContain(param);
  }
  // A picture must be a picture.
  const text = await upload(topo.apiKey, Buffer.from("not a picture"), "image/png", "vision");
  expect(text.status).toBe(400);
  expect(text.body["error"].message).toMatch(/PNG or JPEG/);
  expect((await api(topo.apiKey, "GET", "/v1/videos")).body["data"]).toEqual([]);
});

test("a voiced video with the caller's picture: storyboard, scenes, MP4 that a browser plays and seeks", async () => {
  const file = await upload(topo.apiKey, await picture(), "image/png", "vision");
  expect(file.status).toBe(200);
  const created = await api(topo.apiKey, "POST", "/v1/videos", {
    prompt: "How bees make honey",
    duration_seconds: 6,
    resolution: "640x360",
    voice: true,
    image_file_ids: [file.body["id"]],
  });
  expect(created.status).toBe(202);
  expect(created.body).toMatchObject({ object: "video", status: "queued", progress: 0 });
  const id = created.body["id"] as string;
  const { video, seen } = await finished(topo.apiKey, id);
  expect(video).toMatchObject({ status: "succeeded", progress: 1, error: null });
  expect(seen.has("rendering")).toBe(true);
  // The storyboard: a title card first, the picture shown, the whole length covered.
  const scenes = video["scenes"] as Json[];
  expect(scenes[0]!["visual"].kind).toBe("title");
  expect(
    scenes.some((s) => s["visual"].kind === "image" && s["visual"].file_id === file.body["id"]),
  ).toBe(true);
  const total = scenes.reduce((sum, s) => sum + (s["duration_seconds"] as number), 0);
  expect(total).toBeCloseTo(6, 5);
  expect(video["choices"]).toMatchObject({ scene_seconds: 5 });

  const whole = await content(topo.apiKey, id);
  expect(whole.res.status).toBe(200);
  expect(whole.res.headers.get("content-type")).toBe("video/mp4");
  expect(whole.res.headers.get("accept-ranges")).toBe("bytes");
  const probed = await probe(whole.data, work);
  expect(probed).toMatchObject({
    videoCodec: "h264",
    width: 640,
    height: 360,
    pixFmt: "yuv420p",
    audioCodec: "aac",
    faststart: true,
  });
  expect(Math.abs(probed.durationSeconds - 6)).toBeLessThanOrEqual(0.5);

  const part = await content(topo.apiKey, id, "bytes=100-1099");
  expect(part.res.status).toBe(206);
  expect(part.res.headers.get("content-range")).toBe(`bytes 100-1099/${whole.data.length}`);
  expect(part.data.equals(whole.data.subarray(100, 1100))).toBe(true);
  const beyond = await content(topo.apiKey, id, `bytes=${whole.data.length + 10}-`);
  expect(beyond.res.status).toBe(416);

  // Another user's video does not exist for them.
  const other = await newUsersKey(topo.url, databaseUrl, "snoop-video@example.com");
  expect((await api(other, "GET", `/v1/videos/${id}`)).status).toBe(404);
  expect((await content(other, id)).res.status).toBe(404);
  expect((await api(other, "DELETE", `/v1/videos/${id}`)).status).toBe(404);
  const mine = await api(topo.apiKey, "GET", "/v1/videos");
  expect(mine.body["data"].map((v: Json) => v["id"])).toContain(id);
});

/** Which render replica logged the start of a scene of `id`, if one has. */
function renderingReplica(id: string): string | undefined {
  for (const f of readdirSync(topo.logDir).filter((n) => /^render-\d+\.log$/.test(n))) {
    const lines = readFileSync(join(topo.logDir, f), "utf8").trim().split("\n");
    for (const line of lines.reverse()) {
      try {
        const l = JSON.parse(line) as Json;
        if (l["msg"] === "render: scene started" && l["render"] === id) return f.slice(0, -4);
      } catch {
        // The last line may be half written.
      }
    }
  }
  return undefined;
}

test("a render worker killed mid-scene loses nothing: another renders the scene, once in the output", async () => {
  const created = await api(topo.apiKey, "POST", "/v1/videos", {
    prompt: "A short history of the bicycle",
    duration_seconds: 12,
    resolution: "1280x720",
  });
  expect(created.status).toBe(202);
  const id = created.body["id"] as string;
  let victim: string | undefined;
  while (!(victim = renderingReplica(id))) await new Promise((ok) => setTimeout(ok, 20));
  const pid = topo.pidOf(victim);
  process.kill(pid, "SIGKILL");

  const { video } = await finished(topo.apiKey, id);
  expect(video).toMatchObject({ status: "succeeded", error: null });
  const attempts = await query<{ idx: number | null; outcome: string | null; worker: string }>(
    "SELECT idx, outcome, worker FROM render.attempts WHERE render_id = $1 ORDER BY started_at",
    [id],
  );
  // The killed worker's attempt never ended; its scene was rendered by another attempt.
  const killed = attempts.find((a) => a.worker.endsWith(`:${pid}`) && a.outcome === null);
  expect(killed).toBeDefined();
  const scenes = (video["scenes"] as Json[]).length;
  for (let idx = 0; idx < scenes; idx++)
    expect(attempts.filter((a) => a.idx === idx && a.outcome === "succeeded")).toHaveLength(1);
  expect(attempts.filter((a) => a.idx === killed!.idx).length).toBeGreaterThanOrEqual(2);
  const probed = await probe((await content(topo.apiKey, id)).data, work);
  expect(probed).toMatchObject({ width: 1280, height: 720 });
  // A scene joined twice would show as a longer video.
  expect(Math.abs(probed.durationSeconds - 12)).toBeLessThanOrEqual(0.5);
});

test("the feedback loop: plays counted by analytics change the next video's scene length", async () => {
  const key = await newUsersKey(topo.url, databaseUrl, "viewer-video@example.com");
  const body = { prompt: "Why the sky is blue", duration_seconds: 6, resolution: "640x360" };
  const first = await api(key, "POST", "/v1/videos", body);
  const made = (await finished(key, first.body["id"])).video;
  expect(made).toMatchObject({ status: "succeeded" });
  expect(made["choices"]).toEqual({
    scene_seconds: 5,
    reason: "no plays recorded yet: the default",
  });
  // Watched a tenth of the way, as a <video> element that stops early fetches.
  const size = made["bytes"] as number;
  const watched = await content(key, made["id"], `bytes=0-${Math.floor(size / 10)}`);
  expect(watched.res.status).toBe(206);
  for (;;) {
    const facts = await query("SELECT 1 FROM analytics.play_facts WHERE video_id = $1", [
      made["id"],
    ]);
    if (facts.length > 0) break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  const second = await api(key, "POST", "/v1/videos", body);
  const next = (await finished(key, second.body["id"])).video;
  expect(next).toMatchObject({ status: "succeeded" });
  expect(next["choices"]["scene_seconds"]).toBe(3);
  expect(next["choices"]["reason"]).toMatch(/watched only 10% through: trying 3 s/);
  expect((next["scenes"] as Json[]).length).toBeLessThanOrEqual(2);
});
