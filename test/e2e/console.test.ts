import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { createDatabase } from "../servers/index.ts";
import { systemChromium } from "../support/chromium.ts";
import {
  ROOT,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// The web console as a person uses it: `npm start`, <url>/console in headless Chromium, the demo
// key printed at start. One flow end to end: sign in, a streamed chat, a file upload checked by
// SHA-256, a video made, watched to the end and played, the quota shown; and the refusals a
// wrong key gets. Screenshots of each step go to test/artifacts/console-*.png.

jest.setTimeout(420_000);

let topo: RunningTopology;
let browser: Browser;
const ARTIFACTS = join(ROOT, "test/artifacts");

beforeAll(async () => {
  const executablePath = systemChromium();
  // A video needs PostgreSQL (its render queue) and the language model (its storyboard); one
  // replica of each group keeps the model's memory and start time down.
  topo = await startTopology({
    DATABASE_URL: await createDatabase("console_e2e"),
    INFERENCE_LLM: "on",
    REPLICAS: "1",
  });
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  await browser?.close();
  await topo?.stop();
});

/** A page that records what a person would not see: script errors, blocked or failed loads. */
async function consolePage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("requestfailed", (r) => problems.push(`${r.failure()?.errorText} ${r.url()}`));
  await page.goto(`${topo.url}/console`);
  return { page, problems };
}

/**
 * Waits until `expression` (run in the page) is true; on a timeout, fails with what the page's
 * error line `errorId` says, which is what the person would read.
 */
async function until(
  page: Page,
  predicate: (arg: string) => boolean,
  arg: string,
  errorId: string,
  timeout = 30_000,
) {
  try {
    // A function, not a string: the console's policy forbids evaluating strings.
    await page.waitForFunction(predicate, arg, { timeout });
  } catch (err) {
    const said = await page.textContent(`#${errorId}`);
    throw new Error(`${(err as Error).message}; the page says: ${JSON.stringify(said)}`, {
      cause: err,
    });
  }
}

/** The page's own globals, as the functions run in the page see them (the tests have no DOM types). */
interface PageElement {
  textContent: string | null;
  value?: number;
  src?: string;
  readyState?: number;
  duration?: number;
}
declare const document: {
  getElementById(id: string): PageElement;
  querySelector(selector: string): PageElement | null;
};
declare const window: { seen(n: number): void };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: Record<string, boolean>): void;
}

async function shot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  // A blank page compresses to a few kB.
  expect(statSync(path).size).toBeGreaterThan(10_000);
  console.log(`screenshot: ${path}`);
}

test("sign in, chat, upload, make and play a video, see the quota", async () => {
  const answer = await fetch(`${topo.url}/console`);
  expect(answer.headers.get("content-security-policy")).toContain("script-src 'self'");
  const { page, problems } = await consolePage();
  expect(await page.title()).toBe("Platform console");

  await page.fill("#key", topo.apiKey);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("#app:not([hidden])");
  expect(await page.textContent("#who")).toMatch(/^\S+ · plan /);
  await until(
    page,
    (id) => document.getElementById(id).textContent!.length > 2,
    "quota",
    "usage-error",
  );
  await shot(page, "1-signed-in");

  // The answer grows piece by piece as the worker reads the stream.
  await page.fill("#prompt", "What does a gateway do?");
  const lengths: number[] = [];
  await page.exposeFunction("seen", (n: number) => lengths.push(n));
  await page.evaluate(() => {
    const answer = document.getElementById("answer");
    new MutationObserver(() => window.seen(answer.textContent!.length)).observe(answer, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  await page.click("#chat button[type=submit]");
  // The language model writes a few hundred tokens on CPU: on a loaded two-core machine (a CI
  // run, the other Jest worker beside it) that took more than 30 s once.
  await until(
    page,
    (id) => document.getElementById(id).textContent !== "",
    "chat-meta",
    "chat-error",
    180_000,
  );
  expect((await page.textContent("#answer"))!.length).toBeGreaterThan(0);
  expect(new Set(lengths).size).toBeGreaterThan(2);
  expect(await page.textContent("#chat-error")).toBe("");
  await shot(page, "2-chat");

  const line = '{"prompt":"what is a canary?","completion":"a small share of the traffic first"}\n';
  await page.setInputFiles("#file", {
    name: "corpus.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(line.repeat(20_000)),
  });
  // The first attempt meets a 429, as a burst meets the limiter: the upload worker waits the
  // Retry-After it names and sends the file again, and the platform stores it.
  const attempts: number[] = [];
  await page.route("**/v1/files", (route) => {
    if (route.request().method() !== "POST") return route.continue();
    attempts.push(Date.now());
    if (attempts.length > 1) return route.continue();
    return route.fulfill({
      status: 429,
      headers: { "retry-after": "1", "content-type": "application/json" },
      body: JSON.stringify({
        error: {
          type: "rate_limit_error",
          code: "rate_limited",
          message: "slow down",
          param: null,
        },
      }),
    });
  });
  await page.click("#upload button[type=submit]");
  await until(
    page,
    (id) => document.getElementById(id).textContent!.includes("checked"),
    "upload-result",
    "files-error",
  );
  await until(
    page,
    (id) => document.getElementById(id).textContent!.includes("corpus.txt"),
    "files",
    "files-error",
  );
  await page.unroute("**/v1/files");
  expect(attempts).toHaveLength(2);
  expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(900);
  // The bar counts the file's bytes, all of them, not the form's framing.
  const bar = await page.evaluate(() => {
    const p = document.getElementById("upload-progress") as PageElement & { max: number };
    return { value: p.value, max: p.max };
  });
  expect(bar).toEqual({ value: line.length * 20_000, max: line.length * 20_000 });
  await shot(page, "3-upload");

  await page.fill("#video-prompt", "A short history of the bicycle");
  await page.fill("#video-seconds", "2");
  await page.click("#video button[type=submit]");
  await page.waitForSelector("#videos li");
  // The row follows the video's status until it is done, then offers to play it; a failed
  // video's row says why, and so does this test.
  await until(
    page,
    (selector) => document.querySelector(selector) !== null,
    '#videos li[data-status="succeeded"] button, #videos li[data-status="failed"]',
    "videos-error",
    300_000,
  );
  expect(await page.textContent("#videos li")).not.toMatch(/· failed ·/);
  await page.click('#videos li[data-status="succeeded"] button');
  await page.waitForSelector("#player:not([hidden])");
  await until(
    page,
    (id) => {
      const v = document.getElementById(id);
      return v.src!.startsWith("blob:") && v.readyState! >= 1 && v.duration! > 1;
    },
    "player",
    "videos-error",
  );
  await shot(page, "4-video");
  expect(await page.textContent("#videos-error")).toBe("");
  // The one 429 above, which the browser reports as a failed load, is the only problem.
  expect(problems.filter((p) => !/status of 429/.test(p))).toEqual([]);
});

test("a malformed key and an unknown key are refused in words, nothing else breaks", async () => {
  const { page, problems } = await consolePage();
  await page.fill("#key", "sk-nope");
  await page.click("#signin button[type=submit]");
  await until(
    page,
    (id) => document.getElementById(id).textContent !== "",
    "signin-error",
    "signin-error",
  );
  expect(await page.textContent("#signin-error")).toMatch(/the API key is malformed/);

  await page.fill("#key", "sk-wrong-0123456789abcdefghijklmn");
  await page.click("#signin button[type=submit]");
  await until(
    page,
    (id) => document.getElementById(id).textContent!.startsWith("401"),
    "signin-error",
    "signin-error",
  );
  expect(await page.isHidden("#app")).toBe(true);
  await shot(page, "5-refused");
  // The 401 itself is the only failed load a person would see in the browser's console.
  expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
});
