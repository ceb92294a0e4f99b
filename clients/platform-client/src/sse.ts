// Server-sent events as the chat completions stream them (`data: {...}` blocks, `data: [DONE]`
// at the end), read from the bytes as they arrive: a block may be split anywhere, even inside a
// UTF-8 character.

export interface SseEvent {
  event?: string;
  data: string;
}

export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  const take = function* (final: boolean) {
    for (;;) {
      const end = /\r?\n\r?\n/.exec(buffer);
      if (!end) break;
      const block = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
    if (final && buffer.trim() !== "") {
      const parsed = parseBlock(buffer);
      buffer = "";
      if (parsed) yield parsed;
    }
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* take(false);
  }
  buffer += decoder.decode();
  yield* take(true);
}

function parseBlock(block: string): SseEvent | undefined {
  const data: string[] = [];
  let event: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }
  if (data.length === 0) return undefined;
  return { ...(event !== undefined ? { event } : {}), data: data.join("\n") };
}
