import {
  StoryboardError,
  repairStoryboard,
  sceneCount,
  sceneDurations,
  storyboardMaxTokens,
  storyboardSchema,
  type StoryboardRequest,
} from "./storyboard.ts";
import { chooseSceneSeconds } from "./insights.ts";

const request: StoryboardRequest = {
  prompt: "How bees make honey",
  durationSeconds: 12,
  voice: true,
  imageFileIds: [],
  sceneSeconds: 4,
};
const scene = (kind: string, text: string, narration = `${text}, said aloud.`) => ({
  kind,
  text,
  narration,
});

describe("repairStoryboard", () => {
  test("a good answer: a title card first, the whole length split, the model's words kept", () => {
    const { title, scenes } = repairStoryboard(
      {
        title: "Honey",
        scenes: [scene("title", "Bees"), scene("caption", "Nectar"), scene("caption", "Wax")],
      },
      request,
    );
    expect(title).toBe("Honey");
    expect(scenes.map((s) => s.visual.kind)).toEqual(["title", "caption", "caption"]);
    expect(scenes.map((s) => s.duration_seconds)).toEqual([4, 4, 4]);
    expect(scenes[1]).toMatchObject({
      index: 1,
      narration: "Nectar, said aloud.",
      visual: { caption: "Nectar" },
    });
    expect(scenes.every((s) => /^#[0-9a-f]{6}$/.test(s.style.background))).toBe(true);
  });

  test("what can be mended is: unknown kinds, empty text, extra scenes, long text, missing narration", () => {
    const long = "word ".repeat(100);
    const { title, scenes } = repairStoryboard(
      {
        title: "",
        scenes: [
          scene("caption", "  First   words  "),
          { kind: "hologram", text: "", narration: "Only narration here" },
          { kind: "caption", text: long, narration: "" },
          null,
          scene("caption", ""),
          scene("caption", "Fourth"),
          scene("caption", "Beyond the count"),
        ],
      },
      request,
    );
    expect(title).toBe("How bees make honey");
    expect(scenes).toHaveLength(3);
    expect(scenes[0]!.visual).toEqual({
      kind: "title",
      title: "How bees make honey",
      subtitle: "First words",
    });
    expect(scenes[1]!.visual).toEqual({ kind: "caption", caption: "Only narration here" });
    const cut = scenes[2]!.visual as { caption: string };
    expect(cut.caption.length).toBeLessThanOrEqual(183);
    expect(cut.caption.endsWith("...")).toBe(true);
    // Voiced: a scene with no narration speaks its text.
    expect(scenes[2]!.narration).toBe(cut.caption);
  });

  test("a chart with no data and a picture never given become captions; given pictures are shown", () => {
    const kinds = (r: Partial<StoryboardRequest>, drafted: string[]) =>
      repairStoryboard(
        { title: "T", scenes: drafted.map((k, i) => scene(k, `scene ${i}`)) },
        { ...request, ...r },
      ).scenes.map((s) => s.visual);
    expect(kinds({}, ["title", "chart", "image"]).map((v) => v.kind)).toEqual([
      "title",
      "caption",
      "caption",
    ]);
    const chart = { title: "Tokens", bars: [{ label: "12-01", value: 3 }] };
    expect(kinds({ chart }, ["title", "chart", "caption"])[1]).toEqual({ kind: "chart", ...chart });
    const shown = kinds({ imageFileIds: ["file_a", "file_b"] }, ["title", "caption", "caption"]);
    expect(shown.map((v) => (v.kind === "image" ? v.file_id : v.kind))).toEqual([
      "title",
      "file_a",
      "file_b",
    ]);
  });

  test("a picture the model left no scene for gets one of its own, as far as the count allows", () => {
    const req = { ...request, durationSeconds: 6, sceneSeconds: 5, imageFileIds: ["file_a"] };
    const { scenes } = repairStoryboard({ title: "Bees", scenes: [scene("title", "Bees")] }, req);
    expect(scenes.map((s) => s.visual)).toEqual([
      { kind: "title", title: "Bees" },
      { kind: "image", file_id: "file_a" },
    ]);
    expect(scenes.map((s) => s.duration_seconds)).toEqual([3, 3]);
  });

  test("refuses what cannot be rendered, saying why", () => {
    for (const raw of [null, "text", { title: "x" }, { scenes: "many" }])
      expect(() => repairStoryboard(raw, request)).toThrow(
        new StoryboardError("the model's storyboard is not an object with a list of scenes"),
      );
    expect(() =>
      repairStoryboard({ title: "x", scenes: [scene("caption", "", "")] }, request),
    ).toThrow(/no scene with text/);
  });
});

test("scene counts and lengths add up to the video's duration", () => {
  expect(sceneCount(6, 5)).toBe(1);
  expect(sceneCount(6, 3)).toBe(2);
  expect(sceneCount(1, 3)).toBe(1);
  expect(sceneCount(60, 3)).toBe(12);
  expect(sceneCount(3, 1)).toBe(3);
  // A title card and each picture get a scene of their own, as far as the length allows.
  expect(sceneCount(6, 5, 1)).toBe(2);
  expect(sceneCount(6, 5, 4)).toBe(5);
  expect(sceneCount(2, 5, 4)).toBe(2);
  for (const [duration, n] of [
    [7, 3],
    [60, 12],
    [1, 1],
    [10, 3],
  ] as const) {
    const d = sceneDurations(duration, n);
    expect(d).toHaveLength(n);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(duration, 9);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(0.5);
  }
  // The answer's lengths are bounded by the schema, and its tokens by the request.
  const schema = storyboardSchema(4);
  expect(schema.properties.scenes).toMatchObject({ minItems: 4, maxItems: 4 });
  expect(storyboardMaxTokens(12)).toBeLessThanOrEqual(1024);
});

describe("chooseSceneSeconds (the feedback loop)", () => {
  const stat = (scene_seconds: number, plays: number, watch_ratio: number) => ({
    scene_seconds,
    videos: 1,
    plays,
    watch_ratio,
  });
  test("the default until something is played", () => {
    expect(chooseSceneSeconds([])).toEqual({
      value: 5,
      reason: "no plays recorded yet: the default",
    });
    expect(chooseSceneSeconds([stat(5, 0, 0)]).value).toBe(5);
  });
  test("keeps a length watched well, tries a shorter one after a poorly watched one", () => {
    expect(chooseSceneSeconds([stat(5, 2, 0.9)])).toMatchObject({ value: 5 });
    expect(chooseSceneSeconds([stat(5, 1, 0.1)])).toEqual({
      value: 3,
      reason: "videos with 5 s scenes were watched only 10% through: trying 3 s",
    });
    expect(chooseSceneSeconds([stat(5, 1, 0.1), stat(3, 1, 0.3)]).value).toBe(8);
    expect(chooseSceneSeconds([stat(5, 1, 0.1), stat(3, 1, 0.3), stat(8, 1, 0.2)]).value).toBe(3);
  });
});
