/**
 * The parts of tail-file (CJS, untyped) that follow-source.ts uses. See node_modules/tail-file/tail.js: its
 * constructor copies every option onto the instance, which is how follow-source replaces `decode` and `readStuff`.
 */
declare module 'tail-file' {
  import { EventEmitter } from 'node:events';

  namespace Tail {
    interface Options {
      startPos?: 'start' | 'end' | number;
      force?: boolean;
      sep?: string | RegExp;
      encoding?: BufferEncoding;
      cutoff?: number;
      secondary?: string;
      _bufsize?: number;
      [override: string]: unknown;
    }
  }

  class Tail extends EventEmitter {
    constructor(filename: string, options?: Tail.Options);
    filename: string;
    /** byte position of the next read in the current file, or 'init' */
    pos: number | 'init';
    started: string | null;
    /** the file a start() in progress is opening (set once its stop() is done); null or absent otherwise */
    starting?: string | null;
    /** where the next start() begins: 'start', 'end', or a character position */
    startPos: 'start' | 'end' | number;
    start(): void;
    stop(): Promise<boolean>;
    readStuff(): void;
    onEndOfFile(): void;
    onCreateReader(fd: number): void;
  }

  export = Tail;
}
