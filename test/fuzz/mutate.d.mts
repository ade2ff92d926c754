export const ALPHABET: string;
export const TOKENS: string[];
export function mutator(rnd: () => number): (line: string) => string;
export const EDGE_BODY: string;
export const EDGE_LINES: string[];
