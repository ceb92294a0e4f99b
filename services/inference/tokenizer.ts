// The platform's tokenizer, for the built-in model and for usage counts: a token is a run of
// letters and digits (with inner apostrophes, so "don't" is one token) or one other visible
// character. It is simple and documented rather than exact: a BPE tokenizer (OpenAI's, DeepSeek's)
// counts about 1.3 tokens per English word, so usage here reads lower for the same text.

const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** Each message costs its role and content tokens, and one more to mark where it ends. */
export function countPromptTokens(messages: readonly { role: string; content: string }[]): number {
  return messages.reduce((sum, m) => sum + 1 + countTokens(m.role) + countTokens(m.content), 0);
}

const NO_SPACE_BEFORE = /^[.,;:!?)\]}%'’]$/;
const NO_SPACE_AFTER = /^[([{$]$/;

/**
 * The text of `token` as it follows `previous` (undefined at the start of an answer): words are
 * separated by a space, punctuation hugs the word before it.
 */
export function joinToken(previous: string | undefined, token: string): string {
  if (previous === undefined || NO_SPACE_BEFORE.test(token) || NO_SPACE_AFTER.test(previous))
    return token;
  return ` ${token}`;
}
