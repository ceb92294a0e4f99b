// The render engine's throughput (issue #18), no verdict: seconds of 640x360 video rendered per
// wall-clock second with one and with two render workers, side by side in one run. The workers
// are the render service's own program on a fresh PostgreSQL, sharing one blob folder as a
// deployment's replicas share a volume or bucket; each video is submitted to the internal API as
// the orchestrator submits it (a title card, then captions and charts), so the figures are
// FFmpeg's and the queue's, not the language model's.
//
//   bash scripts/with-node24.sh node bench/video.ts   (about 3 minutes)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, startPostgres } from "../test/servers/index.ts";
import { signedCall } from "../test/support/serviceApp.ts";
import { startServiceProcess, type ServiceProcess } from "../test/support/serviceProcess.ts";
import type { CreateRender, Render } from "../services/render/contract.ts";

const VIDEOS = 4;
const SCENES = 6;
const SCENE_SECONDS = 2.5;
const style = { background: "#10243e", foreground: "#f4f6fb", accent: "#f2a541" };

async function call(replica: ServiceProcess, method: string, path: string, body?: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = signedCall(
    method,
    path,
    text,
    text ? { "content-type": "application/json" } : {},
  );
  const res = await fetch(`${replica.url}${path}`, { method, headers, body: text });
  const json = (await res.json()) as Render;
  if (res.status >= 300)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function video(n: number, run: number, voice: boolean): CreateRender {
  return {
    id: `vid_${run.toString(16).padStart(4, "0")}${n.toString(16).padStart(20, "0")}`,
    user_id: "usr_bench",
    resolution: "640x360",
    voice,
    scenes: Array.from({ length: SCENES }, (_, i) => ({
      duration_seconds: SCENE_SECONDS,
      narration: voice ? `Scene ${i + 1} of the benchmark, spoken aloud.` : "",
      style,
      visual:
        i === 0
          ? { kind: "title" as const, title: `Benchmark video ${n}`, subtitle: "rendered twice" }
          : i % 2
            ? {
                kind: "caption" as const,
                caption: `Scene ${i + 1}: a caption laid out on two lines of text in the frame`,
              }
            : {
                kind: "chart" as const,
                title: "Requests per day",
                bars: [3, 7, 4, 9, 6].map((value, d) => ({ label: `12-0${d + 1}`, value })),
              },
    })),
  };
}

const postgres = await startPostgres();
const started: ServiceProcess[] = [];
let run = 0;

/** Seconds of video per wall-clock second for VIDEOS videos submitted together. */
async function throughput(workers: number, voice: boolean): Promise<number> {
  const database = await createDatabase("bench_render", postgres.url);
  const dataDir = mkdtempSync(join(tmpdir(), "bench-render-"));
  const set: ServiceProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const replica = await startServiceProcess("render", "business", {
      DATABASE_URL: database,
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      RENDER_POLL_MS: "100",
    });
    set.push(replica);
    started.push(replica);
  }
  run++;
  const videos = Array.from({ length: VIDEOS }, (_, n) => video(n, run, voice));
  const start = performance.now();
  for (const v of videos) await call(set[0]!, "POST", "/internal/renders", v);
  const pending = new Set(videos.map((v) => v.id));
  const deadline = Date.now() + 600_000;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} videos not rendered in 600 s`);
    await new Promise((ok) => setTimeout(ok, 100));
    for (const id of pending) {
      const r = await call(set[0]!, "GET", `/internal/renders/${id}`);
      if (r.status === "failed") throw new Error(`render ${id} failed: ${JSON.stringify(r.error)}`);
      if (r.status === "succeeded") pending.delete(id);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(set.map((r) => r.stop()));
  rmSync(dataDir, { recursive: true, force: true });
  return (VIDEOS * SCENES * SCENE_SECONDS) / seconds;
}

try {
  console.log(
    `seconds of 640x360 video rendered per wall-clock second (${VIDEOS} videos of ${SCENES} scenes of ${SCENE_SECONDS} s, submitted together):`,
  );
  for (const voice of [false, true]) {
    const one = await throughput(1, voice);
    const two = await throughput(2, voice);
    console.log(
      `  ${voice ? "voiced  " : "unvoiced"}  one worker ${one.toFixed(2)}   two workers ${two.toFixed(2)}  (${(two / one).toFixed(2)}x one)`,
    );
  }
} finally {
  await Promise.all(started.map((r) => r.stop()));
  await postgres.stop();
}
