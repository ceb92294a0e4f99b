import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface NginxProxyArgs {
  /** Loopback port nginx listens on. */
  port: number;
  /** `host:port` of the one upstream it proxies to. */
  upstream: string;
}

export interface NginxProxy {
  url: string;
  /** The master process; its worker is its child. */
  pid: number;
  stop(): Promise<void>;
}

const NGINX = "/usr/sbin/nginx";

/** Installs Debian's nginx package when it is missing (root, or sudo without a password). */
export function ensureNginx(): void {
  if (existsSync(NGINX)) return;
  console.log("installing nginx (apt-get install nginx)...");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, { stdio: "inherit", env });
  };
  run(["apt-get", "update", "-q"]);
  run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]);
  if (!existsSync(NGINX)) throw new Error(`apt-get installed nginx, but there is no ${NGINX}`);
}

/**
 * nginx as a plain reverse proxy, the reference for what one proxy hop costs: one worker (the
 * gateway is one Node process too), HTTP/1.1 keep-alive to the upstream, its default access log
 * on (the gateway logs every request as well). It runs in the foreground from a temp dir.
 */
export async function startNginx(args: NginxProxyArgs): Promise<NginxProxy> {
  ensureNginx();
  const dir = mkdtempSync(join(tmpdir(), "bench-nginx-"));
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `# A plain reverse proxy for the throughput bench.
daemon off;
master_process on;
worker_processes 1;
${process.getuid?.() === 0 ? "user root;" : ""}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 65s;
  keepalive_requests 100000;
  upstream service {
    server ${args.upstream};
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${args.port};
    location / {
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  const proc = spawn(NGINX, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((ok) => proc.once("exit", () => ok()));
  const url = `http://127.0.0.1:${args.port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGQUIT");
      await Promise.race([exited, sleep(5_000).then(() => proc.kill("SIGKILL"))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
    if (proc.exitCode !== null) throw new Error(`nginx exited at start: ${stderr}`);
    const up = await fetch(`${url}/healthz`)
      .then(() => true)
      .catch(() => false);
    if (up) return { url, pid: proc.pid!, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not answer in 10 s: ${stderr}`);
    }
  }
}
