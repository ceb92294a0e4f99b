import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

// The media engine: scenes become MP4 clips through FFmpeg filter graphs, clips are joined with
// the concat demuxer. Every child runs without a shell, in a scratch folder of its own under the
// caller's workDir, and every text reaches FFmpeg through a file, so that no prompt text is ever
// parsed as a filter, an option or a path.

export type Resolution = "640x360" | "1280x720";
export const RESOLUTIONS: readonly Resolution[] = ["640x360", "1280x720"];

export type Visual =
  | { kind: "title"; title: string; subtitle?: string }
  | { kind: "caption"; caption: string }
  | { kind: "chart"; title: string; bars: { label: string; value: number }[] } // 1-8 bars, value >= 0
  | { kind: "image"; image: Buffer; caption?: string }; // PNG or JPEG bytes of any size

/** Colours as "#rrggbb". */
export interface Style {
  background: string;
  foreground: string;
  accent: string;
}

export interface SceneSpec {
  index: number;
  durationSeconds: number; // 0.5 .. 60, may be fractional (e.g. 2.5)
  narration: string; // spoken when voice is on; may be empty
  visual: Visual;
  style: Style;
}

export interface RenderOptions {
  resolution: Resolution;
  voice: boolean;
  /** A scratch folder the caller owns and removes; write temporary files only under it. */
  workDir: string;
  signal?: AbortSignal; // abort kills the ffmpeg/espeak child processes and rejects
}

export interface Probe {
  videoCodec: string;
  width: number;
  height: number;
  pixFmt: string;
  durationSeconds: number;
  audioCodec?: string;
  faststart: boolean;
}

/** Thrown with a clear message when ffmpeg/ffprobe/espeak-ng is missing or fails (include ffmpeg's last stderr lines). */
export class MediaError extends Error {
  override readonly name = "MediaError";
}

const FPS = 25;
const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
const LINE_HEIGHT = 1.25; // in ems
const MIN_SCALE = 0.6; // the smallest a text is shrunk to fit, of its layout's size
const ASCENT = 0.93; // DejaVu Sans' ascender in ems: a line's baseline sits this far below its top
const MAX_BARS = 8;
// espeak-ng speaks about 15 characters a second at its default rate, so text beyond twice that
// could never be heard before the scene's end: it is not synthesised at all.
const SPOKEN_CHARS_PER_SECOND = 30;
const STDERR_KEEP = 16_384;

/** One scene as an MP4 clip: H.264 (yuv420p, 25 fps) + one AAC audio track (44.1 kHz stereo: the narration when voice is on, silence otherwise), exactly durationSeconds long (video and audio). */
export async function renderScene(scene: SceneSpec, opts: RenderOptions): Promise<Buffer> {
  const fail = (message: string) => new MediaError(`scene ${scene.index}: ${message}`);
  const { width, height } = frameSize(opts.resolution);
  const d = scene.durationSeconds;
  if (!Number.isFinite(d) || d < 0.5 || d > 60) {
    throw fail(`durationSeconds must be between 0.5 and 60 (got ${d})`);
  }
  const colors = {
    background: color(scene.style.background, "background", fail),
    foreground: color(scene.style.foreground, "foreground", fail),
    accent: color(scene.style.accent, "accent", fail),
  };
  // The sound lasts exactly d; the picture, in whole frames, up to one frame more. joinClips
  // starts each clip where the previous clip's sound ends, so that a video lasts the sum of its
  // scenes' durations rather than gaining up to a frame per scene.
  const audioSeconds = String(d);
  const videoSeconds = (Math.ceil(d * FPS - 1e-6) / FPS).toFixed(2);

  const canvas = new Canvas(width, height, colors);
  const visual = scene.visual;
  const image = visual.kind === "image" ? imageFile(visual.image, fail) : undefined;
  // The chain's input: the background, or the picture's scaling and the background it goes over.
  let source = "[0:v]";
  switch (visual.kind) {
    case "title":
      drawTitle(canvas, visual.title, visual.subtitle ?? "");
      break;
    case "caption":
      drawCaption(canvas, visual.caption);
      break;
    case "chart":
      drawChart(canvas, visual.title, visual.bars, fail);
      break;
    case "image":
      source = drawImage(canvas, visual.caption ?? "");
      break;
  }
  let graph = `${source}${canvas.chain()}[v]`;
  const audioInput = image ? 2 : 1;

  // ffmpeg's and espeak-ng's failures name the scene too.
  try {
    return await inScratch(opts.workDir, "scene-", async (dir) => {
      const inputs = [
        "-f",
        "lavfi",
        "-i",
        `color=c=${colors.background}:s=${width}x${height}:r=${FPS}:d=${videoSeconds}`,
      ];
      if (image) {
        await writeFile(join(dir, image.name), image.bytes);
        inputs.push("-threads", "1", "-i", image.name);
      }
      const narration = clean(scene.narration).slice(0, Math.ceil(d * SPOKEN_CHARS_PER_SECOND));
      let audioMap: string;
      if (opts.voice && narration) {
        await writeFile(join(dir, "narration.txt"), narration);
        await run("espeak-ng", ["-w", "speech.wav", "-f", "narration.txt"], dir, opts.signal);
        inputs.push("-i", "speech.wav");
        // A short fade-out so that speech cut at the scene's end does not end in a click.
        const fadeStart = (d - 0.05).toFixed(3);
        graph +=
          `;[${audioInput}:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,` +
          `apad,atrim=duration=${audioSeconds},afade=t=out:st=${fadeStart}:d=0.05[a]`;
        audioMap = "[a]";
      } else {
        inputs.push("-f", "lavfi", "-i", `anullsrc=r=44100:cl=stereo:d=${audioSeconds}`);
        audioMap = `${audioInput}:a`;
      }
      for (const file of canvas.files) await writeFile(join(dir, file.name), file.text);
      await run(
        "ffmpeg",
        [
          ...FFMPEG_START,
          ...inputs,
          "-filter_complex",
          graph,
          ...["-map", "[v]", "-map", audioMap],
          ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", String(FPS)],
          ...["-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2"],
          ...[
            "-threads",
            "1",
            "-t",
            videoSeconds,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "clip.mp4",
          ],
        ],
        dir,
        opts.signal,
      );
      return readFile(join(dir, "clip.mp4"));
    });
  } catch (err) {
    throw err instanceof MediaError ? fail(err.message) : err;
  }
}

/** Joins clips made by renderScene with the same options into one MP4 with +faststart; keeps audio only when `voice` (else video only). */
export async function joinClips(clips: Buffer[], opts: RenderOptions): Promise<Buffer> {
  if (clips.length === 0) throw new MediaError("joinClips needs at least one clip");
  return inScratch(opts.workDir, "join-", async (dir) => {
    const names = clips.map((_, i) => `clip-${i}.mp4`);
    await Promise.all(clips.map((clip, i) => writeFile(join(dir, names[i]), clip)));
    // Each clip's sound is exactly its scene's duration while its picture may run up to a frame
    // longer: the `duration` lines start each clip where the previous one's sound ends.
    let list = "";
    for (const [i, name] of names.entries()) {
      const seconds = await soundSeconds(name, dir, opts.signal);
      if (seconds === undefined)
        throw new MediaError(`clip ${i} has no sound: not a renderScene clip`);
      list += `file '${name}'\nduration ${seconds}\n`;
    }
    await writeFile(join(dir, "clips.txt"), list);
    // Pictures are copied. The sound is decoded and encoded once more: copied AAC would keep each
    // clip's 1024 priming samples, ~23 ms of drift per clip in players that play samples back to
    // back; aresample fills or drops whatever the clips' last partial AAC frames leave between
    // them. -copyts keeps the first clip's negative audio priming from delaying the video.
    const audio = opts.voice
      ? [
          "-map",
          "0:a",
          "-af",
          "aresample=async=1:min_hard_comp=0.01",
          "-c:a",
          "aac",
          "-b:a",
          "128k",
        ]
      : ["-an"];
    await run(
      "ffmpeg",
      [
        ...FFMPEG_START,
        ...["-copyts", "-f", "concat", "-i", "clips.txt", "-map", "0:v", "-c:v", "copy"],
        ...audio,
        ...["-threads", "1", "-movflags", "+faststart", "-f", "mp4", "video.mp4"],
      ],
      dir,
      opts.signal,
    );
    return readFile(join(dir, "video.mp4"));
  });
}

/** The length of a clip's audio track in seconds, as ffprobe prints it. */
async function soundSeconds(
  file: string,
  dir: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const args = ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration"];
  const out = await run("ffprobe", [...args, "-of", "csv=p=0", file], dir, signal);
  return /^\d+(\.\d+)?$/.exec(out.trim())?.[0];
}

/** ffprobe of an MP4 in memory (write it to a temp file under workDir). faststart: the moov atom comes before mdat. */
export async function probe(mp4: Buffer, workDir: string): Promise<Probe> {
  return inScratch(workDir, "probe-", async (dir) => {
    await writeFile(join(dir, "probe.mp4"), mp4);
    const stdout = await run(
      "ffprobe",
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "probe.mp4"],
      dir,
    );
    const info = JSON.parse(stdout) as FfprobeOutput;
    const video = info.streams?.find((s) => s.codec_type === "video");
    const audio = info.streams?.find((s) => s.codec_type === "audio");
    if (!video) throw new MediaError("ffprobe found no video stream");
    return {
      videoCodec: video.codec_name ?? "",
      width: video.width ?? 0,
      height: video.height ?? 0,
      pixFmt: video.pix_fmt ?? "",
      durationSeconds: Number(info.format?.duration ?? NaN),
      ...(audio ? { audioCodec: audio.codec_name ?? "" } : {}),
      faststart: moovBeforeMdat(mp4),
    };
  });
}

interface FfprobeOutput {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
  }[];
  format?: { duration?: string };
}

/** Walks the top-level MP4 boxes to see which of moov and mdat comes first. */
function moovBeforeMdat(mp4: Buffer): boolean {
  let offset = 0;
  while (offset + 8 <= mp4.length) {
    const type = mp4.toString("latin1", offset + 4, offset + 8);
    if (type === "moov") return true;
    if (type === "mdat") return false;
    let size = mp4.readUInt32BE(offset);
    if (size === 1 && offset + 16 <= mp4.length) size = Number(mp4.readBigUInt64BE(offset + 8));
    if (size < 8) return false; // 0 (the box runs to the end) or a broken size
    offset += size;
  }
  return false;
}

// ---- Child processes ----

const FFMPEG_START = [
  "-nostdin",
  "-hide_banner",
  "-v",
  "error",
  "-y",
  "-filter_complex_threads",
  "1",
];

/** A scratch folder of the call's own under workDir (calls may run side by side in one workDir). */
async function inScratch<T>(
  workDir: string,
  prefix: string,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(workDir, prefix));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a program without a shell in `cwd`, so that every path on its command line and in its
 * filter graph is a plain relative name; resolves with its stdout. On abort the child is killed and waited for before the
 * promise rejects with the signal's reason, so no process outlives the call.
 */
function run(program: string, args: string[], cwd: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(program, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    let startError: NodeJS.ErrnoException | undefined;
    child.on("error", (err) => (startError = err));
    child.on("close", (code, killedBy) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) reject(signal.reason);
      else if (startError) {
        const missing = startError.code === "ENOENT";
        reject(
          new MediaError(
            missing
              ? `${program} is not installed (not found on PATH)`
              : `could not start ${program}: ${startError.message}`,
          ),
        );
      } else if (code !== 0) {
        const tail = stderr.trim().split("\n").slice(-8).join("\n");
        const status = code === null ? `killed by ${killedBy}` : `exit code ${code}`;
        reject(new MediaError(`${program} failed (${status}): ${tail || "no output"}`));
      } else resolve(stdout);
    });
  });
}

// ---- Validation ----

function frameSize(resolution: Resolution): { width: number; height: number } {
  if (!RESOLUTIONS.includes(resolution)) {
    throw new MediaError(`resolution must be one of ${RESOLUTIONS.join(", ")}`);
  }
  const [width, height] = resolution.split("x").map(Number);
  return { width, height };
}

/** "#rrggbb" as FFmpeg's "0xrrggbb" (no "#" in filter graphs, and nothing else gets through). */
function color(value: string, name: string, fail: (message: string) => MediaError): string {
  if (!/^#[0-9a-f]{6}$/i.test(value))
    throw fail(`style.${name} must be "#rrggbb" (got "${value}")`);
  return `0x${value.slice(1).toLowerCase()}`;
}

function imageFile(
  bytes: Buffer,
  fail: (message: string) => MediaError,
): { name: string; bytes: Buffer } {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.subarray(0, 8).equals(png)) return { name: "image.png", bytes };
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return { name: "image.jpg", bytes };
  }
  throw fail("the image is neither a PNG nor a JPEG");
}

// ---- Text ----

/** Collapses whitespace and drops control characters: drawtext would draw them as boxes. */
function clean(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, " ").trim();
}

/**
 * Estimated advance of one character in ems, from DejaVu Sans' widths rounded up per class: a
 * flat ~0.55 em lets lines of capitals or wide letters run off the frame.
 */
function charEms(char: string): number {
  if (" iIjlft.,:;'!|()[]".includes(char)) return 0.4;
  if ("mwMW@%".includes(char)) return 1;
  if (/[A-Z0-9]/.test(char)) return 0.8;
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x80) return 0.65;
  return code < 0x2e80 ? 0.8 : 1; // CJK and beyond are full-width
}

function textWidth(text: string, size: number, bold: boolean): number {
  let ems = 0;
  for (const char of text) ems += charEms(char);
  return ems * size * (bold ? 1.1 : 1);
}

interface TextBlock {
  lines: string[];
  size: number;
  height: number;
}

/**
 * Wraps text into a box: shrinks the font (down to MIN_SCALE of `size`) until the lines fit, and
 * past that cuts the text with an ellipsis, so that text never leaves its box.
 */
function fitText(
  text: string,
  box: { width: number; height: number },
  size: number,
  bold: boolean,
): TextBlock {
  const words = clean(text);
  let fontSize = Math.floor(size);
  for (;;) {
    const lines = words ? wrap(words, box.width, fontSize, bold) : [];
    const maxLines = Math.max(1, Math.floor(box.height / (fontSize * LINE_HEIGHT)));
    const next = Math.floor(fontSize * 0.9);
    if (lines.length <= maxLines || next < size * MIN_SCALE) {
      const shown =
        lines.length <= maxLines ? lines : ellipsis(lines, maxLines, box.width, fontSize, bold);
      return { lines: shown, size: fontSize, height: shown.length * fontSize * LINE_HEIGHT };
    }
    fontSize = next;
  }
}

function wrap(text: string, maxWidth: number, size: number, bold: boolean): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const joined = line ? `${line} ${word}` : word;
    if (textWidth(joined, size, bold) <= maxWidth) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    // A word wider than a whole line (a URL, a long number) is broken between characters.
    while (textWidth(line, size, bold) > maxWidth) {
      let head = "";
      for (const char of line) {
        if (head && textWidth(head + char, size, bold) > maxWidth) break;
        head += char;
      }
      lines.push(head);
      line = line.slice(head.length);
    }
  }
  if (line) lines.push(line);
  return lines;
}

function ellipsis(
  lines: string[],
  maxLines: number,
  maxWidth: number,
  size: number,
  bold: boolean,
): string[] {
  const kept = lines.slice(0, maxLines);
  const chars = [...kept[maxLines - 1]];
  while (chars.length > 0 && textWidth(`${chars.join("")}…`, size, bold) > maxWidth) chars.pop();
  kept[maxLines - 1] = `${chars.join("").trimEnd()}…`;
  return kept;
}

// ---- Drawing ----

type Colors = Record<keyof Style, string>; // as FFmpeg colours

/**
 * The drawtext and drawbox filters of one picture, and the text files they read: one file and
 * one filter per line, each line centred on its own and placed by its baseline (y = baseline -
 * ascent), so lines with and without tall letters line up.
 */
class Canvas {
  readonly filters: string[] = [];
  readonly files: { name: string; text: string }[] = [];
  readonly width: number;
  readonly height: number;
  readonly colors: Colors;

  constructor(width: number, height: number, colors: Colors) {
    this.width = width;
    this.height = height;
    this.colors = colors;
  }

  box(x: number, y: number, w: number, h: number, fill: string): void {
    // drawbox reads a 0 width or height as "the whole frame".
    const [bw, bh] = [Math.max(1, Math.round(w)), Math.max(1, Math.round(h))];
    this.filters.push(
      `drawbox=x=${Math.round(x)}:y=${Math.round(y)}:w=${bw}:h=${bh}:color=${fill}:t=fill`,
    );
  }

  /** Draws a block with its top at `top`, each line centred on `centerX`. */
  text(block: TextBlock, top: number, centerX: number, fill: string, bold: boolean): void {
    block.lines.forEach((line, i) => {
      const name = `text-${this.files.length}.txt`;
      this.files.push({ name, text: line });
      const baseline = Math.round(top + (i * LINE_HEIGHT + ASCENT) * block.size);
      this.filters.push(
        `drawtext=fontfile=${bold ? BOLD_FONT : FONT}:textfile=${name}:expansion=none` +
          `:fontsize=${block.size}:fontcolor=${fill}:fix_bounds=1` +
          `:x=${Math.round(centerX)}-text_w/2:y=${baseline}-ascent`,
      );
    });
  }

  /** The filters as one chain, ending in the encoder's pixel format. */
  chain(): string {
    return [...this.filters, "format=yuv420p"].join(",");
  }
}

function drawTitle(c: Canvas, titleText: string, subtitleText: string): void {
  const { width: w, height: h, colors } = c;
  const title = fitText(titleText, { width: w * 0.84, height: h * 0.45 }, h / 9, true);
  const subtitle = fitText(subtitleText, { width: w * 0.84, height: h * 0.25 }, h / 20, false);
  const gap = h * 0.08;
  const top = (h - title.height - gap - subtitle.height) / 2;
  c.text(title, top, w / 2, colors.foreground, true);
  const rule = Math.max(2, h / 120);
  c.box(w * 0.44, top + title.height + (gap - rule) / 2, w * 0.12, rule, colors.accent);
  c.text(subtitle, top + title.height + gap, w / 2, colors.foreground, false);
}

/** Caption text in the lower third, under an accent bar across the frame. */
function drawCaption(c: Canvas, caption: string): void {
  const { width: w, height: h, colors } = c;
  const bandTop = (h * 2) / 3;
  const bar = Math.max(3, h / 90);
  const pad = h * 0.04;
  c.box(0, bandTop, w, bar, colors.accent);
  const room = h - bandTop - bar;
  const block = fitText(caption, { width: w * 0.88, height: room - 2 * pad }, h / 15, false);
  c.text(block, bandTop + bar + (room - block.height) / 2, w / 2, colors.foreground, false);
}

/** A bar chart: bars scaled to the largest value, its value above and its label under each. */
function drawChart(
  c: Canvas,
  titleText: string,
  bars: { label: string; value: number }[],
  fail: (message: string) => MediaError,
): void {
  if (!Array.isArray(bars) || bars.length < 1 || bars.length > MAX_BARS) {
    throw fail(`a chart needs 1 to ${MAX_BARS} bars`);
  }
  for (const bar of bars) {
    if (!Number.isFinite(bar.value) || bar.value < 0) {
      throw fail(`bar values must be finite numbers >= 0 (got ${bar.value})`);
    }
  }
  const { width: w, height: h, colors } = c;
  const margin = w * 0.06;
  const title = fitText(titleText, { width: w - 2 * margin, height: h * 0.2 }, h / 14, true);
  c.text(title, h * 0.05, w / 2, colors.foreground, true);

  const small = Math.floor(h / 24);
  const labelRoom = 2 * small * LINE_HEIGHT;
  const axisY = h - h * 0.04 - labelRoom - small * 0.3;
  const plotTop = h * 0.05 + title.height + h * 0.04 + small * LINE_HEIGHT;
  const maxBar = axisY - plotTop;
  const slot = (w - 2 * margin) / bars.length;
  const barWidth = Math.min(slot * 0.6, w * 0.15);
  const largest = Math.max(...bars.map((bar) => bar.value));
  const format = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });

  c.box(margin, axisY, w - 2 * margin, Math.max(1, h / 180), colors.foreground);
  bars.forEach((bar, i) => {
    const cx = margin + slot * (i + 0.5);
    const barHeight = largest > 0 ? Math.round((bar.value / largest) * maxBar) : 0;
    if (barHeight >= 1)
      c.box(cx - barWidth / 2, axisY - barHeight, barWidth, barHeight, colors.accent);
    const value = fitText(
      format.format(bar.value),
      { width: slot * 0.95, height: small * LINE_HEIGHT },
      small,
      false,
    );
    c.text(value, axisY - barHeight - value.height, cx, colors.foreground, false);
    const label = fitText(bar.label, { width: slot * 0.95, height: labelRoom }, small, false);
    c.text(label, axisY + small * 0.4, cx, colors.foreground, false);
  });
}

/**
 * The picture (input 1) scaled to fit, keeping its aspect ratio, laid over the background, which
 * pads it; an optional caption takes the bottom of the frame. Returns the graph's start, which
 * the canvas' chain (beginning with the overlay) continues.
 */
function drawImage(c: Canvas, caption: string): string {
  const { width: w, height: h, colors } = c;
  const pad = Math.round(h * 0.04);
  const captionRoom = clean(caption) ? Math.round(h * 0.22) : 0;
  const boxW = w - 2 * pad;
  const boxH = h - captionRoom - 2 * pad;
  c.filters.push(`overlay=x=(W-w)/2:y=${pad}+(${boxH}-h)/2`);
  const block = fitText(caption, { width: w * 0.9, height: captionRoom - pad }, h / 18, false);
  c.text(
    block,
    h - captionRoom + (captionRoom - pad - block.height) / 2,
    w / 2,
    colors.foreground,
    false,
  );
  return `[1:v]scale=w=${boxW}:h=${boxH}:force_original_aspect_ratio=decrease[img];[0:v][img]`;
}
