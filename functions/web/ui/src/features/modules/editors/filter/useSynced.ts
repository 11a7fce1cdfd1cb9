// Editor state that carries more than the config (React keys, an empty group's AND/OR),
// kept in step with a controlled `value`: an outside change (a template loaded) rebuilds it,
// the editor's own changes keep it.
import { useState } from "react";
import { newKey, sameJson } from "./filter";

export function useSynced<V, S>(value: V, from: (v: V) => S, to: (s: S) => V): [S, (next: S) => void] {
  const [state, setState] = useState(() => from(value));
  if (!sameJson(to(state), to(from(value)))) {
    const rebuilt = from(value);
    setState(rebuilt);
    return [rebuilt, setState];
  }
  return [state, setState];
}

export interface Keyed<T> {
  key: string;
  value: T;
}

/** A list's editor state: each item with a React key. */
export function keyed<T>(list: readonly T[]): Keyed<T>[] {
  return list.map((value) => ({ key: newKey(), value }));
}

/** The list the editor state stands for. */
export function unkeyed<T>(items: readonly Keyed<T>[]): T[] {
  return items.map((k) => k.value);
}

/**
 * A controlled list with stable React keys across moves and removals, so focus and
 * inputs follow their item: set, add, remove and move each emit the new list.
 */
export function useKeyedList<T>(list: readonly T[], onChange: (list: T[]) => void) {
  const [items, setItems] = useSynced(list, keyed<T>, unkeyed<T>);
  const commit = (next: Keyed<T>[]) => {
    setItems(next);
    onChange(next.map((k) => k.value));
  };
  return {
    items,
    set: (i: number, value: T) => commit(items.map((k, j) => (j === i ? { ...k, value } : k))),
    add: (value: T) => commit([...items, { key: newKey(), value }]),
    remove: (i: number) => commit(items.filter((_, j) => j !== i)),
    move: (from: number, to: number) => {
      if (to < 0 || to >= items.length) return;
      const next = [...items];
      const [item] = next.splice(from, 1);
      if (item) next.splice(to, 0, item);
      commit(next);
    },
  };
}
