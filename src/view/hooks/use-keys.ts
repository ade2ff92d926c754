import { useCallback, useRef } from 'react';
import { useInput, type Key } from 'ink';

/** What a key asks the view to do. Text entry (the `/` filter) is handled by the caller's `editing` mode. */
export type KeyAction =
  | { type: 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' }
  | { type: 'panel' | 'filter' | 'verdict' | 'sort' | 'pause' | 'write' | 'help' | 'noise' | 'quit' | 'escape' }
  /** Ctrl-C: quit as interrupted (the exit status a SIGINT gives, 130) */
  | { type: 'interrupt' }
  | { type: 'char'; text: string }
  | { type: 'backspace' | 'enter' }
  /** a key with no binding (closes the help) */
  | { type: 'other' };

/** Maps one keypress to an action. `editing`: keys are text for the filter (except Enter, Esc, Backspace, Ctrl-C). */
export function keyAction(input: string, key: Key, editing: boolean): KeyAction | undefined {
  if (key.ctrl && input === 'c') return { type: 'interrupt' };
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

const PLAIN_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false,
  end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false,
  meta: false, super: false, hyper: false, capsLock: false, numLock: false,
};

/**
 * Hands over the actions of one input event, one by one. Ink hands over a run of plain text as one event (keys typed while the main
 * thread was busy, a held-down key, a paste: `jjj`, `vv`, `jq`): each character is a key of its own, read in the
 * mode the keys before it left (`isEditing`: `/foo` then Enter filters by foo).
 */
export function dispatchKeys(input: string, key: Key, isEditing: () => boolean, onAction: (a: KeyAction) => void): void {
  const special = key.upArrow || key.downArrow || key.pageUp || key.pageDown || key.home || key.end || key.tab ||
    key.return || key.escape || key.backspace || key.delete || key.ctrl || key.meta;
  if (special || [...input].length <= 1) {
    const a = keyAction(input, key, isEditing());
    if (a !== undefined) onAction(a);
    return;
  }
  for (const ch of input) {
    const k = ch === '\r' ? { ...PLAIN_KEY, return: true } : ch === '\u007f' || ch === '\b' ? { ...PLAIN_KEY, backspace: true } : ch === '\t' ? { ...PLAIN_KEY, tab: true } : PLAIN_KEY;
    const a = keyAction(k === PLAIN_KEY ? ch : '', k, isEditing());
    if (a !== undefined) onAction(a);
  }
}

/**
 * Subscribes to keys (from the tty Ink was given) while `active`; without a terminal for keys, stays inactive.
 * The handler Ink holds is stable and reads the latest state through `isEditing` and a ref: Ink re-subscribes a new
 * handler only in a passive effect, and a key typed before that effect runs would otherwise see stale state. Each
 * action is handed over before the next character is read (see dispatchKeys).
 */
export function useKeys(active: boolean, isEditing: () => boolean, onAction: (a: KeyAction) => void): void {
  const latest = useRef({ isEditing, onAction });
  latest.current = { isEditing, onAction };
  const handler = useCallback((input: string, key: Key) => {
    dispatchKeys(input, key, () => latest.current.isEditing(), (a) => latest.current.onAction(a));
  }, []);
  useInput(handler, { isActive: active });
}
