import { z } from "zod";
import { tokenize } from "./tokenizer.ts";

// The built-in language model: word trigrams with backoff, trained in memory from a corpus at
// start (a few hundred lines train in milliseconds), so that the chat flow runs anywhere with no
// download. Backoff is "stupid backoff" (Brants et al., 2007) without its scores: the next word
// is drawn from the longest context seen in training (two words, else one, else none).

const START = "<s>";
const END = "</s>";
const SEP = "\u0000";
const SNAPSHOT_FORMAT = "ngram-3/1";

/** Splits a line into sentences, keeping each one's closing mark. */
function sentences(line: string): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  for (const token of tokenize(line.toLowerCase())) {
    current.push(token);
    if (token === "." || token === "!" || token === "?") {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

type Counts = Map<string, number>;

function bump(table: Map<string, Counts>, context: string, next: string): void {
  let counts = table.get(context);
  if (!counts) table.set(context, (counts = new Map()));
  counts.set(next, (counts.get(next) ?? 0) + 1);
}

function sumOf(counts: Counts): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  return total;
}

/** A small seeded generator (mulberry32): the same seed draws the same answer. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  /** The text the answer responds to; its rarest known word leads the answer. */
  prompt: string;
  maxTokens: number;
  /** 0 picks the likeliest word each time (deterministic); above 0 samples, flatter as it grows. */
  temperature: number;
  /** Nucleus sampling: only the likeliest words whose probabilities add up to `topP`. */
  topP: number;
  /** Seeds the sampling; the same seed and request give the same answer. */
  seed: number;
}

export interface Generated {
  /** Each token as it is produced; `finishReason` is set once the iteration ends. */
  tokens: Iterable<string>;
  finishReason: () => "stop" | "length";
}

/**
 * A trained model as a file (JSON): its count tables, so that a model trained once (by the
 * training service) is loaded by every inference replica without the corpus. Contexts are the
 * words joined by U+0000, as in memory.
 */
export const ngramSnapshot = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    sentences: z.number().int().min(1),
    trigrams: z.array(
      z.tuple([z.string(), z.array(z.tuple([z.string(), z.number().int().min(1)]))]),
    ),
    bigrams: z.array(
      z.tuple([z.string(), z.array(z.tuple([z.string(), z.number().int().min(1)]))]),
    ),
    unigrams: z.array(z.tuple([z.string(), z.number().int().min(1)])).min(1),
  })
  .strict();
export type NgramSnapshot = z.infer<typeof ngramSnapshot>;

const table = (entries: NgramSnapshot["trigrams"]) =>
  new Map(entries.map(([context, next]) => [context, new Map(next)]));

/** A table without the continuations seen fewer than `minCount` times (and contexts left empty). */
function pruned(t: Map<string, Counts>, minCount: number): NgramSnapshot["trigrams"] {
  const out: NgramSnapshot["trigrams"] = [];
  for (const [context, counts] of t) {
    const kept = [...counts].filter(([, c]) => c >= minCount);
    if (kept.length > 0) out.push([context, kept]);
  }
  return out;
}

export class NgramModel {
  private readonly trigrams: Map<string, Counts>;
  private readonly bigrams: Map<string, Counts>;
  private readonly unigrams: Counts;
  readonly sentenceCount: number;

  /** Trains on `source` (text, one or more sentences a line), or loads a trained snapshot. */
  constructor(source: string | NgramSnapshot) {
    if (typeof source !== "string") {
      this.trigrams = table(source.trigrams);
      this.bigrams = table(source.bigrams);
      this.unigrams = new Map(source.unigrams);
      this.sentenceCount = source.sentences;
      return;
    }
    const text = source;
    this.trigrams = new Map();
    this.bigrams = new Map();
    this.unigrams = new Map();
    let count = 0;
    for (const line of text.split("\n")) {
      for (const sentence of sentences(line)) {
        count++;
        const padded = [START, START, ...sentence, END];
        for (let i = 2; i < padded.length; i++) {
          const next = padded[i]!;
          bump(this.trigrams, padded[i - 2] + SEP + padded[i - 1], next);
          bump(this.bigrams, padded[i - 1]!, next);
          this.unigrams.set(next, (this.unigrams.get(next) ?? 0) + 1);
        }
      }
    }
    if (count === 0) throw new Error("ngram: the corpus has no sentence");
    this.sentenceCount = count;
  }

  get vocabularySize(): number {
    return this.unigrams.size;
  }

  /**
   * How well the model predicts `text` (held out from its corpus): the mean number of bits per
   * token, each token's probability interpolated from its two-word, one-word and empty contexts
   * (Jelinek-Mercer, weights 0.6 / 0.3 / 0.1, a context's weight passing down when training
   * never saw it), the last with add-one smoothing and a slot for unseen words, so that no token
   * has probability 0. Lower is better; models are compared on the same text.
   */
  crossEntropy(text: string): { tokens: number; bits: number } {
    const unigramTotal = sumOf(this.unigrams);
    const vocabulary = this.unigrams.size + 1;
    let bits = 0;
    let tokens = 0;
    for (const line of text.split("\n")) {
      for (const sentence of sentences(line)) {
        const padded = [START, START, ...sentence, END];
        for (let i = 2; i < padded.length; i++) {
          const next = padded[i]!;
          let p = 0;
          let weight = 1;
          for (const [counts, share] of [
            [this.trigrams.get(padded[i - 2] + SEP + padded[i - 1]), 0.6],
            [this.bigrams.get(padded[i - 1]!), 0.75],
          ] as const) {
            if (!counts) continue;
            p += weight * share * ((counts.get(next) ?? 0) / sumOf(counts));
            weight *= 1 - share;
          }
          p += (weight * ((this.unigrams.get(next) ?? 0) + 1)) / (unigramTotal + vocabulary);
          bits -= Math.log2(p);
          tokens++;
        }
      }
    }
    if (tokens === 0) throw new Error("ngram: the text has no sentence to score");
    return { tokens, bits: bits / tokens };
  }

  /**
   * The model as a file. `minCount` > 1 drops the two- and three-word continuations seen fewer
   * times (generation then backs off to shorter contexts): a smaller, less literal model.
   */
  toSnapshot(opts: { minCount?: number } = {}): NgramSnapshot {
    const minCount = opts.minCount ?? 1;
    return {
      format: SNAPSHOT_FORMAT,
      sentences: this.sentenceCount,
      trigrams: pruned(this.trigrams, minCount),
      bigrams: pruned(this.bigrams, minCount),
      unigrams: [...this.unigrams],
    };
  }

  private continuations(a: string, b: string): Counts {
    return this.trigrams.get(a + SEP + b) ?? this.bigrams.get(b) ?? this.unigrams;
  }

  /**
   * How the answer begins: with the prompt's rarest word the model knows (rare words carry the
   * topic), where training saw a sentence begin with it or with "the"/"a" before it. Empty when
   * no word qualifies: the answer then starts like any sentence.
   */
  private lead(prompt: string): string[] {
    let best: { lead: string[]; count: number; word: string } | undefined;
    for (const word of tokenize(prompt.toLowerCase())) {
      const count = this.unigrams.get(word);
      if (count === undefined || !/[\p{L}\p{N}]/u.test(word)) continue;
      const lead = [[word], ["the", word], ["a", word]].find((l) =>
        this.trigrams.has([START, ...l].slice(-2).join(SEP)),
      );
      if (!lead || (lead.length > 1 && !this.trigrams.get(START + SEP + START)?.has(lead[0]!)))
        continue;
      if (!best || count < best.count || (count === best.count && word < best.word))
        best = { lead, count, word };
    }
    return best?.lead ?? [];
  }

  generate(opts: GenerateOptions): Generated {
    const random = seededRandom(opts.seed);
    let finish: "stop" | "length" = "length";
    const pick = (counts: Counts, seen: Set<string>, context: string): string => {
      // Ties go to the more common word overall, then to the word itself: greedy decoding is
      // reproducible.
      const common = (w: string) => this.unigrams.get(w) ?? 0;
      const ranked = [...counts].sort(
        (x, y) => y[1] - x[1] || common(y[0]) - common(x[0]) || (x[0] < y[0] ? -1 : 1),
      );
      if (opts.temperature === 0) {
        // Greedy decoding loops on its likeliest trigram; a word that would repeat one of this
        // answer's trigrams gives way to the next likeliest.
        return (ranked.find(([w]) => !seen.has(context + SEP + w)) ?? ranked[0]!)[0];
      }
      const weights = ranked.map(([w, c]) => [w, c ** (1 / opts.temperature)] as const);
      const total = weights.reduce((s, [, x]) => s + x, 0);
      const nucleus: (readonly [string, number])[] = [];
      let mass = 0;
      for (const entry of weights) {
        nucleus.push(entry);
        mass += entry[1];
        if (mass / total >= opts.topP) break;
      }
      let r = random() * mass;
      for (const [w, x] of nucleus) {
        r -= x;
        if (r <= 0) return w;
      }
      return nucleus.at(-1)![0];
    };
    const lead = this.lead(opts.prompt).slice(0, opts.maxTokens);
    const continuations = (a: string, b: string) => this.continuations(a, b);
    function* tokens(): Generator<string> {
      let [a, b] = [START, START, ...lead].slice(-2) as [string, string];
      const seen = new Set<string>();
      let produced = 0;
      for (const word of lead) {
        yield word;
        produced++;
      }
      while (produced < opts.maxTokens) {
        const next = pick(continuations(a, b), seen, a + SEP + b);
        if (next === END) {
          finish = "stop";
          return;
        }
        seen.add(a + SEP + b + SEP + next);
        yield next;
        produced++;
        [a, b] = [b, next];
      }
    }
    return { tokens: tokens(), finishReason: () => finish };
  }
}
