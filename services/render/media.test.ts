import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { promisify } from "node:util";
import {
  MediaError,
  joinClips,
  probe,
  renderScene,
  type RenderOptions,
  type SceneSpec,
  type Visual,
} from "./media.ts";

// The media engine on the real ffmpeg, ffprobe and espeak-ng: clips are checked with ffprobe
// (codec, size, pixel format, duration, faststart) and their sound with ffmpeg's volumedetect.

const execFileAsync = promisify(execFile);

const style = { background: "#14213d", foreground: "#ffffff", accent: "#fca311" };
// Characters that would mean something in a filter graph, an option or drawtext's expansion.
const TRICKY = `50% off: it's "quoted", \\back\\slashed; [label] %{pts} %{eif:1:d} $HOME`;
const LONG =
  `${TRICKY} ${"Renewable energy made up a record share of the grid this year. ".repeat(7)}`.slice(
    0,
    500,
  );

let fixtures: string;
let portraitPng: Buffer;
let wideJpeg: Buffer;
let workDir: string;

beforeAll(async () => {
  fixtures = await mkdtemp(join(tmpdir(), "media-fixtures-"));
  const picture = async (size: string, name: string) => {
    const args = ["-v", "error", "-f", "lavfi", "-i", `testsrc=s=${size}`, "-frames:v", "1"];
    await execFileAsync("ffmpeg", [...args, join(fixtures, name)]);
    return readFile(join(fixtures, name));
  };
  portraitPng = await picture("300x500", "portrait.png");
  wideJpeg = await picture("1600x400", "wide.jpg");
});

afterAll(() => rm(fixtures, { recursive: true, force: true }));

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), "media-test-"));
});

afterEach(() => rm(workDir, { recursive: true, force: true }));

const scene = (visual: Visual, durationSeconds = 1, narration = ""): SceneSpec => ({
  index: 7,
  durationSeconds,
  narration,
  visual,
  style,
});

const options = (more: Partial<RenderOptions> = {}): RenderOptions => ({
  resolution: "640x360",
  voice: false,
  workDir,
  ...more,
});

/** The mean volume of a clip's sound in dB, as ffmpeg's volumedetect measures it. */
async function meanVolume(clip: Buffer): Promise<number> {
  const file = join(workDir, `volume-${randomBytes(4).toString("hex")}.mp4`);
  await writeFile(file, clip);
  const { stderr } = await execFileAsync("ffmpeg", [
    ...["-hide_banner", "-nostdin", "-i", file, "-map", "0:a", "-af", "volumedetect"],
    ...["-f", "null", "-"],
  ]);
  const match = /mean_volume: (-?[\d.]+) dB/.exec(stderr);
  if (!match) throw new Error(`no mean_volume in ffmpeg's output:\n${stderr}`);
  return Number(match[1]);
}

/** ffmpeg and espeak-ng processes that are children of this test process. */
async function mediaChildren(): Promise<string[]> {
  const { stdout } = await execFileAsync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)]);
  return stdout.split("\n").filter((line) => /ffmpeg|espeak/.test(line));
}

describe("renderScene", () => {
  const visuals: [string, () => Visual, number][] = [
    [
      "title",
      () => ({ kind: "title", title: "Quarterly report", subtitle: "2024 in review" }),
      1.5,
    ],
    ["caption", () => ({ kind: "caption", caption: "Sales grew in every region." }), 2],
    [
      "chart",
      () => ({
        kind: "chart",
        title: "Revenue by region",
        bars: [
          { label: "North", value: 120.5 },
          { label: "South", value: 0 },
          { label: "East", value: 1_234_567 },
          { label: "West", value: 3 },
        ],
      }),
      1,
    ],
    [
      "image (PNG, captioned)",
      () => ({ kind: "image", image: portraitPng, caption: "A test card" }),
      1,
    ],
    ["image (JPEG)", () => ({ kind: "image", image: wideJpeg }), 0.5],
  ];

  it.each(visuals)("renders a %s scene at 640x360", async (_kind, visual, seconds) => {
    const clip = await renderScene(scene(visual(), seconds), options());
    const info = await probe(clip, workDir);
    expect(info).toMatchObject({
      videoCodec: "h264",
      width: 640,
      height: 360,
      pixFmt: "yuv420p",
      audioCodec: "aac",
      faststart: true,
    });
    expect(Math.abs(info.durationSeconds - seconds)).toBeLessThanOrEqual(0.1);
  });

  it("speaks the narration at 1280x720 when voice is on, and is silent when it is off", async () => {
    const narrated = scene(
      { kind: "title", title: "Hello" },
      2,
      "Welcome to the quarterly report.",
    );
    const voiced = await renderScene(narrated, options({ resolution: "1280x720", voice: true }));
    const info = await probe(voiced, workDir);
    expect(info).toMatchObject({ width: 1280, height: 720, audioCodec: "aac" });
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThanOrEqual(0.1);
    expect(await meanVolume(voiced)).toBeGreaterThan(-60);

    const mute = await renderScene(narrated, options({ resolution: "1280x720" }));
    expect((await probe(mute, workDir)).audioCodec).toBe("aac");
    expect(await meanVolume(mute)).toBeLessThan(-80);
  });

  it("fits 500 characters of text with filter-graph characters in every text visual", async () => {
    const long: Visual[] = [
      { kind: "title", title: LONG, subtitle: LONG },
      { kind: "caption", caption: LONG },
      {
        kind: "chart",
        title: LONG,
        bars: Array.from({ length: 8 }, (_, i) => ({ label: LONG, value: i })),
      },
      { kind: "image", image: portraitPng, caption: LONG },
    ];
    for (const visual of long) {
      const clip = await renderScene(scene(visual, 0.5, LONG), options({ voice: true }));
      expect((await probe(clip, workDir)).width).toBe(640);
    }
  });

  it("rejects a colour that is not #rrggbb", async () => {
    const bad = { ...scene({ kind: "title", title: "x" }), style: { ...style, foreground: "red" } };
    await expect(renderScene(bad, options())).rejects.toThrow(MediaError);
    await expect(renderScene(bad, options())).rejects.toThrow(/scene 7: style\.foreground/);
  });

  it("rejects a corrupt image with ffmpeg's own words, and bytes that are no image", async () => {
    const header = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const corrupt = Buffer.concat([header, randomBytes(2000)]);
    const failure = renderScene(scene({ kind: "image", image: corrupt }), options());
    await expect(failure).rejects.toThrow(MediaError);
    await expect(failure).rejects.toThrow(/scene 7: ffmpeg failed \(exit code \d+\): .+/);

    const noImage = scene({ kind: "image", image: randomBytes(2000) });
    await expect(renderScene(noImage, options())).rejects.toThrow(/neither a PNG nor a JPEG/);
  });

  it("kills its child processes and rejects when aborted", async () => {
    const controller = new AbortController();
    const long = scene({ kind: "title", title: "Long" }, 60, "A long narration. ".repeat(40));
    const started = Date.now();
    const rendering = renderScene(
      long,
      options({ resolution: "1280x720", voice: true, signal: controller.signal }),
    );
    // Abort while ffmpeg encodes (after espeak-ng has spoken), so there is a child to kill.
    while (!(await mediaChildren()).some((line) => line.includes("ffmpeg"))) {
      if (Date.now() - started > 10_000) throw new Error("ffmpeg never started");
      await setTimeout(20);
    }
    const aborted = Date.now();
    controller.abort();
    await expect(rendering).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - aborted).toBeLessThan(2000);
    expect(await mediaChildren()).toEqual([]);

    // Aborted before it starts: nothing is spawned at all.
    await expect(renderScene(long, options({ signal: controller.signal }))).rejects.toMatchObject({
      name: "AbortError",
    });
  });
});

describe("joinClips", () => {
  const durations = [2.5, 1, 3];

  it.each([true, false])("joins 2.5 s, 1 s and 3 s into 6.5 s (voice %s)", async (voice) => {
    const clips = [];
    for (const [i, seconds] of durations.entries()) {
      const visual: Visual = { kind: "caption", caption: `Scene ${i + 1}` };
      clips.push(
        await renderScene(scene(visual, seconds, `This is scene ${i + 1}.`), options({ voice })),
      );
    }
    const video = await joinClips(clips, options({ voice }));
    const info = await probe(video, workDir);
    expect(info).toMatchObject({ videoCodec: "h264", width: 640, height: 360, faststart: true });
    expect(Math.abs(info.durationSeconds - 6.5)).toBeLessThanOrEqual(0.2);
    expect(info.audioCodec).toBe(voice ? "aac" : undefined);
    if (voice) expect(await meanVolume(video)).toBeGreaterThan(-60);
  });

  it("refuses to join nothing", async () => {
    await expect(joinClips([], options())).rejects.toThrow(MediaError);
  });
});
