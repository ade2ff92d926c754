import { useSyncExternalStore } from 'react';
import type { ViewSnapshot, ViewStore } from '../store.js';

/** The store's latest snapshot; re-renders at most as often as the store notifies (≤ 10×/s). */
export function useStore(store: ViewStore): ViewSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
