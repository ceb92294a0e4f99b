import { ApiError } from "../shared/errors.ts";
import { principalHeaders, type Principal } from "../shared/principal.ts";
import { callService, errorFrom } from "../shared/serviceCall.ts";
import type { ReplicaSet } from "../shared/upstream.ts";
import type { CreateRender, Render } from "../render/contract.ts";
import { storyboardMaxTokens, storyboardSchema } from "./storyboard.ts";

/** The render service's internal API, as the orchestrator drives it. */
export class RenderClient {
  private readonly set: ReplicaSet;
  constructor(set: ReplicaSet) {
    this.set = set;
  }

  /** Queues a video's scenes; safe to send again (a render keeps its first submission). */
  async submit(render: CreateRender): Promise<Render> {
    const res = await callService(this.set, {
      method: "POST",
      path: "/internal/renders",
      body: render,
      retryable: true,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200)
      throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as Render;
  }

  async get(id: string): Promise<Render | undefined> {
    const res = await callService(this.set, {
      method: "GET",
      path: `/internal/renders/${id}`,
      retryable: true,
    });
    if (res.statusCode === 404) return void (await res.body.dump());
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as Render;
  }

  async content(id: string): Promise<Buffer> {
    const res = await callService(this.set, {
      method: "GET",
      path: `/internal/renders/${id}/content`,
      retryable: true,
    });
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return Buffer.from(await res.body.arrayBuffer());
  }

  /**
   * Drops the render's pictures, clips and output; `keepRecord` keeps the render and its
   * attempts (a finished video's history), else they go too (a deleted video).
   */
  async remove(id: string, keepRecord = false): Promise<void> {
    const res = await callService(this.set, {
      method: "DELETE",
      path: `/internal/renders/${id}${keepRecord ? "?keep=record" : ""}`,
      retryable: true,
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 404)
      throw new ApiError(
        502,
        "api_error",
        "render_unavailable",
        `render answered ${res.statusCode}`,
      );
  }
}

/** The answer did not parse: another sample may (a passing failure, tried again). */
export class StoryboardNotJson extends Error {}

/** The chat flow (chat -> model -> inference), asked for a storyboard as the video's owner. */
export class StoryboardWriter {
  private readonly set: ReplicaSet;
  private readonly model: string;
  constructor(set: ReplicaSet, model: string) {
    this.set = set;
    this.model = model;
  }

  /** The model's answer, parsed; a StoryboardNotJson when it does not parse. */
  async write(
    owner: Principal,
    request: { messages: { role: "system" | "user"; content: string }[]; scenes: number },
    signal?: AbortSignal,
  ): Promise<unknown> {
    const res = await callService(this.set, {
      method: "POST",
      path: "/v1/chat/completions",
      headers: principalHeaders(owner),
      body: {
        model: this.model,
        messages: request.messages,
        response_format: {
          type: "json_schema",
          json_schema: { name: "storyboard", schema: storyboardSchema(request.scenes) },
        },
        temperature: 0.7,
        max_tokens: storyboardMaxTokens(request.scenes),
      },
      // A completion costs tokens of the owner's quota: not sent twice after a broken connection.
      retryable: false,
      signal,
    });
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    const answer = (await res.body.json()) as {
      choices: { message: { content: string | null } }[];
    };
    return JSON.parse(answer.choices[0]?.message.content ?? "");
  }
}
