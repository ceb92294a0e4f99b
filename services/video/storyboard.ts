import { visualKinds, type Scene, type VisualKind } from "./contract.ts";

// The AI orchestrator's storyboard: the platform's own chat flow writes it, constrained to
// storyboardSchema, and repairStoryboard turns what it wrote into scenes the render engine can
// take, or refuses it. The model chooses words and visual kinds; the orchestrator chooses
// numbers (scene count and lengths, from the feedback loop), which a 135M model gets wrong.

/** The longest strings the model may write (characters). */
const TITLE_CAP = 60;
const TEXT_CAP = 100;
const NARRATION_CAP = 160;

/**
 * The schema the chat API's `response_format` constrains the answer to, for `n` scenes. The
 * lengths bound the answer (llama.cpp's grammar enforces them), so it fits in
 * `storyboardMaxTokens(n)` and is not cut short mid-string.
 */
export function storyboardSchema(n: number) {
  return {
    type: "object",
    properties: {
      title: { type: "string", maxLength: TITLE_CAP },
      scenes: {
        type: "array",
        minItems: n,
        maxItems: n,
        items: {
          type: "object",
          properties: {
            kind: { type: "string", enum: [...visualKinds] },
            text: { type: "string", maxLength: TEXT_CAP },
            narration: { type: "string", maxLength: NARRATION_CAP },
          },
          required: ["kind", "text", "narration"],
        },
      },
    },
    required: ["title", "scenes"],
  };
}

/** Room for the longest answer the schema allows: ~4 characters a token, plus JSON and indentation. */
export const storyboardMaxTokens = (n: number) => Math.min(1024, 80 + 120 * n);

/** The storyboard cannot be rendered: the video fails with this, before any scene renders. */
export class StoryboardError extends Error {}

export interface StoryboardRequest {
  prompt: string;
  durationSeconds: number;
  voice: boolean;
  /** The caller's pictures, in the order given. */
  imageFileIds: string[];
  /** Target length of one scene (the feedback loop's choice). */
  sceneSeconds: number;
  /** The caller's analytics, for a chart scene; absent when there is none to show. */
  chart?: { title: string; bars: { label: string; value: number }[] };
}

export const MAX_SCENES = 12;
const PALETTES = [
  { background: "#10243e", foreground: "#f4f6fb", accent: "#f2a541" },
  { background: "#1d3b2a", foreground: "#f1f7ee", accent: "#9ad16a" },
  { background: "#3b1d33", foreground: "#fbeff7", accent: "#ff7aa8" },
  { background: "#f4f1ea", foreground: "#1b1b1b", accent: "#d1495b" },
] as const;

/**
 * How many scenes a video of this length gets: one per `sceneSeconds`, and room for the title
 * card and each of the caller's `pictures`, each scene at least 1 s.
 */
export function sceneCount(durationSeconds: number, sceneSeconds: number, pictures = 0): number {
  const wanted = Math.max(
    Math.round(durationSeconds / sceneSeconds),
    pictures > 0 ? 1 + pictures : 1,
  );
  return Math.max(1, Math.min(MAX_SCENES, Math.floor(durationSeconds), wanted));
}

/** The chat request that asks for the storyboard. */
export function storyboardMessages(req: StoryboardRequest) {
  const n = sceneCount(req.durationSeconds, req.sceneSeconds, req.imageFileIds.length);
  const kinds = [
    "title (a title card)",
    "caption (a sentence shown on screen)",
    ...(req.chart ? [`chart (a chart of: ${req.chart.title})`] : []),
    ...(req.imageFileIds.length > 0 ? ["image (one of the user's pictures)"] : []),
  ];
  return [
    {
      role: "system" as const,
      content:
        `You write storyboards for ${req.durationSeconds}-second explainer videos. Answer with ` +
        `JSON: a short title and ${n === 1 ? "one scene" : `${n} scenes`}, each with a kind ` +
        `(${kinds.join(", ")}), the words shown on screen (a few words) and the narration ` +
        "spoken over them (one sentence). Every scene says something new about the topic.",
    },
    { role: "user" as const, content: req.prompt.trim() },
  ];
}

/**
 * The words of a string field, or "" when it has none (a small model sometimes fills a field with
 * punctuation). Text at the schema's cap was cut mid-word by the grammar, and text over `max` is
 * too long for the frame: both end at a word, with an ellipsis.
 */
const clean = (value: unknown, max: number, cap = Infinity): string => {
  if (typeof value !== "string") return "";
  const text = value.replace(/\s+/g, " ").trim();
  if (!/\p{L}/u.test(text)) return "";
  if (text.length < Math.min(max, cap)) return text;
  const cut = text.slice(0, Math.min(max, text.length));
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), Math.floor(cut.length / 2))).replace(/[\s,;:.]+$/, "")}...`;
};

/** A stable palette per prompt, so that a video made twice looks the same. */
function paletteOf(prompt: string) {
  let h = 0;
  for (const c of prompt) h = (h * 31 + c.codePointAt(0)!) >>> 0;
  return PALETTES[h % PALETTES.length]!;
}

/** Splits the whole duration over `n` scenes in tenths of a second, the last taking the rest. */
export function sceneDurations(durationSeconds: number, n: number): number[] {
  const each = Math.floor((durationSeconds / n) * 10) / 10;
  const durations = Array.from({ length: n }, () => each);
  durations[n - 1] = Math.round((durationSeconds - each * (n - 1)) * 10) / 10;
  return durations;
}

/**
 * The model's answer as scenes, or a StoryboardError saying why it cannot be: not an object
 * with scenes, or no scene with anything to show. What can be mended is: unknown kinds become
 * captions, kinds with nothing to show (a chart with no data, a picture the caller gave none
 * of) become captions, scenes beyond the count are dropped, too few are lengthened, over-long
 * text is cut at a word, and the first scene is the title card.
 */
export function repairStoryboard(
  raw: unknown,
  req: StoryboardRequest,
): { title: string; scenes: Scene[] } {
  if (
    typeof raw !== "object" ||
    raw === null ||
    !Array.isArray((raw as { scenes?: unknown }).scenes)
  )
    throw new StoryboardError("the model's storyboard is not an object with a list of scenes");
  const answer = raw as { title?: unknown; scenes: unknown[] };
  const n = sceneCount(req.durationSeconds, req.sceneSeconds, req.imageFileIds.length);
  const drafts: { kind: VisualKind; text: string; narration: string }[] = [];
  for (const item of answer.scenes) {
    if (typeof item !== "object" || item === null) continue;
    const s = item as Record<string, unknown>;
    const narration = clean(s["narration"], 400, NARRATION_CAP);
    const text = clean(s["text"], 180, TEXT_CAP) || clean(narration, 180);
    // A small model repeats itself: a scene that shows the same words again is dropped.
    if (!text || drafts.some((d) => d.text === text)) continue;
    const kind = visualKinds.includes(s["kind"] as VisualKind)
      ? (s["kind"] as VisualKind)
      : "caption";
    drafts.push({ kind, text, narration: narration || (req.voice ? text : "") });
    if (drafts.length === n) break;
  }
  if (drafts.length === 0)
    throw new StoryboardError("the model's storyboard has no scene with text to show");
  const title = clean(answer.title, 80, TITLE_CAP) || clean(req.prompt, 80);
  drafts[0]!.kind = "title";
  // Every picture the caller gave is shown: on the last scenes the model wrote, then on scenes
  // of their own (as many as the count allows) when it wrote too few.
  const images = [...req.imageFileIds];
  for (const d of drafts) if (d.kind === "image" && images.length === 0) d.kind = "caption";
  let missing = images.length - drafts.filter((d) => d.kind === "image").length;
  for (let i = drafts.length - 1; i > 0 && missing > 0; i--)
    if (drafts[i]!.kind !== "image") {
      drafts[i]!.kind = "image";
      missing--;
    }
  for (; missing > 0 && drafts.length < n; missing--)
    drafts.push({ kind: "image", text: "", narration: "" });
  const durations = sceneDurations(req.durationSeconds, drafts.length);
  const style = paletteOf(req.prompt);
  let image = 0;
  const scenes = drafts.map((d, index): Scene => {
    const base = { index, duration_seconds: durations[index]!, narration: d.narration, style };
    switch (d.kind) {
      case "title":
        return {
          ...base,
          visual: {
            kind: "title",
            title,
            subtitle: index === 0 && d.text !== title ? d.text : undefined,
          },
        };
      case "chart":
        return req.chart
          ? { ...base, visual: { kind: "chart", title: req.chart.title, bars: req.chart.bars } }
          : { ...base, visual: { kind: "caption", caption: d.text } };
      case "image":
        return {
          ...base,
          visual: {
            kind: "image",
            file_id: images[image++ % images.length]!,
            ...(d.text ? { caption: d.text } : {}),
          },
        };
      default:
        return { ...base, visual: { kind: "caption", caption: d.text } };
    }
  });
  return { title, scenes };
}
