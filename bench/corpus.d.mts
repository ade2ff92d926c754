export function makeLine(rnd: () => number, i: number): string;
export function ensureCorpus(path: string, lines: number): Promise<string>;
export function mulberry32(seed: number): () => number;
export function corpusText(lines: number, seed: number): string;
