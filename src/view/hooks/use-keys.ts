import { useCallback, useRef } from 'react';
import { useInput, type Key } from 'ink';

/** What a key asks the view to do. Text entry (the `/` filter) is handled by the caller's `editing` mode. */
export type KeyAction =
  | { type: 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' }
  | { type: 'panel' | 'filter' | 'verdict' | 'sort' | 'pause' | 'write' | 'help' | 'noise' | 'quit' | 'escape' }
  | { type: 'char'; text: string }
  | { type: 'backspace' | 'enter' }
  /** a key with no binding (closes the help) */
  | { type: 'other' };

/** Maps one keypress to an action. `editing`: keys are text for the filter (except Enter, Esc, Backspace, Ctrl-C). */
export function keyAction(input: string, key: Key, editing: boolean): KeyAction | undefined {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  if (editing) {
    if (key.return) return { type: 'enter' };
    if (key.escape) return { type: 'escape' };
    if (key.backspace || key.delete) return { type: 'backspace' };
    if (key.ctrl || key.meta || key.tab) return undefined;
    // printable text only: a pasted escape sequence must not reach the filter
    const text = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
    return text === '' ? undefined : { type: 'char', text };
  }
  if (key.upArrow) return { type: 'up' };
  if (key.downArrow) return { type: 'down' };
  if (key.pageUp) return { type: 'pageUp' };
  if (key.pageDown) return { type: 'pageDown' };
  if (key.home) return { type: 'home' };
  if (key.end) return { type: 'end' };
  if (key.tab) return { type: 'panel' };
  if (key.escape) return { type: 'escape' };
  switch (input) {
    case 'q': return { type: 'quit' };
    case '/': return { type: 'filter' };
    case 'v': return { type: 'verdict' };
    case 's': return { type: 'sort' };
    case 'p': return { type: 'pause' };
    case 'w': return { type: 'write' };
    case '?': return { type: 'help' };
    case 'c': return { type: 'noise' };
    case 'k': return { type: 'up' };
    case 'j': return { type: 'down' };
    default: return { type: 'other' };
  }
}

/**
 * Subscribes to keys (from the tty Ink was given) while `active`; without a terminal for keys, stays inactive.
 * The handler Ink holds is stable and reads the latest render's state through a ref: Ink re-subscribes a new
 * handler only in a passive effect, and a key typed before that effect runs would otherwise see stale state.
 */
export function useKeys(active: boolean, editing: boolean, onAction: (a: KeyAction) => void): void {
  const latest = useRef({ editing, onAction });
  latest.current = { editing, onAction };
  const handler = useCallback((input: string, key: Key) => {
    const a = keyAction(input, key, latest.current.editing);
    if (a !== undefined) latest.current.onAction(a);
  }, []);
  useInput(handler, { isActive: active });
}
