import type { GroupStatus, Overview, ReplicaStatus } from "./scraper.ts";

// The status page: one self-contained HTML document (inline CSS, no script, no external asset)
// rendered from the last round, which the browser reloads by itself every few seconds.

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

const rate = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(2));
const mib = (n: number | undefined) => (n === undefined ? "–" : `${Math.round(n / 1048576)} MiB`);
const uptime = (s: number | undefined) =>
  s === undefined
    ? "–"
    : s < 120
      ? `${s} s`
      : s < 7200
        ? `${Math.round(s / 60)} min`
        : `${Math.round(s / 3600)} h`;

function state(r: ReplicaStatus): { label: string; cls: string } {
  if (r.ready) return { label: "ready", cls: "ok" };
  if (r.alive) return { label: "not ready", cls: "warn" };
  return { label: "down", cls: "bad" };
}

function replicaRow(g: GroupStatus, r: ReplicaStatus): string {
  const s = state(r);
  const checks = Object.entries(r.checks)
    .map(([k, v]) => `<span class="chk ${v ? "ok" : "bad"}">${esc(k)}</span>`)
    .join(" ");
  const breakers = Object.entries(r.breakers ?? {})
    .filter(([, st]) => st !== "closed")
    .map(([u, st]) => `<span class="chk bad">${esc(u)}: ${esc(st)}</span>`)
    .join(" ");
  return `<tr data-replica="${esc(`${g.group}/${r.id}`)}" data-state="${s.cls}">
<td class="id">${esc(r.id)}</td><td><span class="badge ${s.cls}">${s.label}</span></td>
<td class="num">${rate(r.requestRate)}</td><td class="num">${rate(r.errorRate)}</td>
<td class="num">${uptime(r.uptimeSeconds)}</td><td class="num">${mib(r.residentMemoryBytes)}</td>
<td>${checks} ${breakers}${r.error ? ` <span class="err">${esc(r.error)}</span>` : ""}</td>
<td class="url">${esc(r.url)}</td></tr>`;
}

function groupBlock(g: GroupStatus): string {
  const ready = g.replicas.filter((r) => r.ready).length;
  const cls = g.error || ready === 0 ? "bad" : ready < g.replicas.length ? "warn" : "ok";
  const title = g.kind === "service" ? g.group : g.kind === "gateway" ? `${g.group}` : "router";
  return `<section class="group" data-group="${esc(g.group)}">
<h3><span class="dot ${cls}"></span>${esc(title)} <small>${esc(g.kind)}${g.domain ? ` · ${esc(g.domain)}` : ""}${g.version ? ` · ${esc(g.version)}` : ""} · ${ready}/${g.replicas.length} ready</small></h3>
${g.error ? `<p class="err">${esc(g.error)}</p>` : ""}
<table><thead><tr><th>replica</th><th>state</th><th>req/s</th><th>5xx/s</th><th>uptime</th><th>memory</th><th>checks</th><th>address</th></tr></thead>
<tbody>${g.replicas.map((r) => replicaRow(g, r)).join("\n")}</tbody></table></section>`;
}

/** Layer 6: the videos by status, and each render in the making with its progress. */
function mediaBlock(m: Overview["media"]): string {
  const videos = Object.entries(m.videos);
  if (videos.length === 0 && m.renders.length === 0) return "";
  const jobs = Object.entries(m.jobs)
    .map(([job, n]) => `${esc(job)} ${n}`)
    .join(", ");
  return `<section class="group" id="videos"><h3>Videos <small>${videos
    .map(([status, n]) => `${n} ${esc(status)}`)
    .join(", ")}${jobs ? ` · render jobs: ${jobs}` : ""}</small></h3>
<table><tr><th>render (video)</th><th class="num">progress</th></tr>
${m.renders.map((r) => `<tr><td class="id">${esc(r.id)}</td><td class="num">${Math.round(r.progress * 100)}%</td></tr>`).join("\n") || '<tr><td colspan="2">none in the making</td></tr>'}
</table></section>`;
}

export function statusPage(o: Overview, refreshSeconds: number): string {
  const order = { router: 0, gateway: 1, service: 2 } as const;
  const groups = [...o.groups].sort(
    (a, b) => order[a.kind] - order[b.kind] || a.group.localeCompare(b.group),
  );
  const open = o.breakers.filter((b) => b.state !== "closed");
  const dlq = o.dlq.reduce((t, d) => t + d.depth, 0);
  const runs = o.automation.workflows.runs;
  const allOk = o.totals.replicas > 0 && o.totals.ready === o.totals.replicas;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Platform status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:32px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:20px;margin:0}
.kpi b{font-size:20px;display:block}
main{padding:16px 24px}
.group{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:0 0 14px;padding:8px 14px}
h3{margin:6px 0;font-size:15px}
h3 small{font-weight:normal;color:#5b6475}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:3px 8px;border-top:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#5b6475;font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums}
.url,.id{font-family:ui-monospace,monospace;font-size:12px}
.badge,.chk{border-radius:3px;padding:0 6px;font-size:12px;white-space:nowrap}
.badge.ok,.chk.ok{background:#d8f3e0;color:#11632f}
.badge.warn{background:#fff0c2;color:#7a5a00}
.badge.bad,.chk.bad{background:#fbd9d9;color:#8a1c1c}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:8px}
.dot.ok{background:#2fa35a}.dot.warn{background:#e0a800}.dot.bad{background:#d23c3c}
.err{color:#8a1c1c;font-size:12px}
</style></head>
<body>
<header><h1><span class="dot ${allOk ? "ok" : "bad"}"></span>Platform status</h1>
<div class="kpi"><b id="ready">${o.totals.ready}/${o.totals.replicas}</b>replicas ready</div>
<div class="kpi"><b>${o.totals.groups}</b>groups</div>
<div class="kpi"><b>${rate(o.totals.requestRate)}</b>requests/s at the edge</div>
<div class="kpi"><b>${open.length}</b>breakers not closed</div>
<div class="kpi"><b>${dlq}</b>writes in dead-letter queues</div>
<div class="kpi"><b id="runs">${runs.running ?? 0}</b>workflow runs running (${runs.succeeded ?? 0} succeeded, ${(runs.failed ?? 0) + (runs.cancelled ?? 0)} failed or cancelled)</div>
<div class="kpi"><b>${o.automation.workflows.schedules}</b>schedules</div>
<div class="kpi"><b>${o.automation.mcpMessages}</b>MCP messages</div>
<div class="kpi"><b id="scenes">${o.media.scenesWaiting}</b>video scenes waiting for a render worker</div>
<div class="kpi"><b>${o.at ? esc(o.at.slice(11, 19)) : "–"}</b>last round (UTC), every ${Math.round(o.intervalMs / 1000)} s</div>
</header>
<main>
${o.rounds === 0 ? "<p>The first round of scrapes is under way; this page reloads by itself.</p>" : ""}
${mediaBlock(o.media)}
${groups.map(groupBlock).join("\n")}
</main></body></html>`;
}
