import { mkdirSync, statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { catalog } from "../../platform/catalog/index.ts";
import { localTopology } from "../../stacks/local/topology.ts";
import { pngSize, systemChromium } from "../support/chromium.ts";
import {
  ROOT,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// The status page as a person opens it: `npm start`, the URL it prints, headless Chromium. Every
// replica of the topology (routers, both gateway tiers, every service) must appear on it and be
// ready, and a screenshot is kept in test/artifacts/ for a person to look at.

const SHOT = join(ROOT, "test/artifacts/status-page.png");

let topo: RunningTopology;
let browser: Browser;

beforeAll(async () => {
  const executablePath = systemChromium();
  topo = await startTopology({ MONITOR_INTERVAL_MS: "1000" });
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  await browser?.close();
  await topo?.stop();
});

/** Every process the local runner starts for this catalog, by name (ports do not matter here). */
function expectedReplicas(): string[] {
  let port = 20_000;
  return localTopology(catalog, {
    routerPort: 8080,
    allocatePort: () => port++,
    data: {},
    dataDir: "/unused",
    demoApiKey: "sk-unused-unused-unused-unused",
  })
    .map((p) => p.name)
    .sort();
}

test("the printed status page shows every replica ready, and a screenshot is kept", async () => {
  const url = /status page: (http:\/\/127\.0\.0\.1:\d+\/v1\/monitoring\/status)/.exec(
    topo.output(),
  )?.[1];
  expect(url).toBeDefined();
  const expected = expectedReplicas();

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url!);
  // Replicas become ready one by one after the runner's ready line; the page reloads itself
  // (meta refresh) with each round. Bounded: at most 90 looks, a second apart.
  let rows: Array<{ replica: string; state: string }> = [];
  for (let look = 0; look < 90; look++) {
    rows = await page.$$eval("tr[data-replica]", (trs) =>
      trs.map((tr) => ({
        replica: tr.getAttribute("data-replica")!,
        state: tr.getAttribute("data-state")!,
      })),
    );
    if (rows.length === expected.length && rows.every((r) => r.state === "ok")) break;
    await page.waitForTimeout(1_000);
    await page.reload();
  }
  const shown = rows.map((r) => r.replica.split("/").at(-1)!).sort();
  expect(shown).toEqual(expected);
  expect(rows.filter((r) => r.state !== "ok")).toEqual([]);
  expect(await page.textContent("#ready")).toBe(`${expected.length}/${expected.length}`);
  expect(await page.title()).toBe("Platform status");

  mkdirSync(join(ROOT, "test/artifacts"), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  const { width, height } = pngSize(readFileSync(SHOT));
  expect(width).toBe(1280);
  expect(height).toBeGreaterThan(900);
  // A blank or error page compresses to a few kB; tables of text for every replica do not.
  expect(statSync(SHOT).size).toBeGreaterThan(50_000);
});

test("the API reference page renders every operation of the document in Chromium", async () => {
  const doc = (await (await fetch(`${topo.url}/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { operationId: string }>>;
  };
  const ids = Object.values(doc.paths).flatMap((item) =>
    Object.values(item).map((op) => op.operationId),
  );
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  // A script or style the page's policy blocks shows up here, as would a failed asset.
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  await page.goto(`${topo.url}/v1/docs`);
  await page.waitForSelector(".opblock", { timeout: 30_000 });
  const shown = await page.$$eval(".opblock", (blocks) => blocks.length);
  expect(shown).toBe(ids.length);
  expect(await page.textContent("body")).toContain("/v1/chat/completions");
  expect(problems).toEqual([]);
  await page.screenshot({ path: join(ROOT, "test/artifacts/api-reference.png") });
});
