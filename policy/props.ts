// Reading resource inputs safely: a policy sees plain JSON whose shape it cannot trust.

export type Props = Record<string, unknown>;

export const obj = (value: unknown): Props =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Props) : {};

export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
