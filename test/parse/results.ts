import type { DropEvent, LineResult } from '../../src/parse/event.js';

/** The event of a parse result; anything else fails the test, naming what it was. */
export function eventOf(r: LineResult | undefined): DropEvent {
  if (r?.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(r)}`);
  return r.event;
}

/** {@link eventOf} for each result. */
export const eventsOf = (results: readonly LineResult[]): DropEvent[] => results.map(eventOf);
