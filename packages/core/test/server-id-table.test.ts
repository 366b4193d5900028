import { describe, expect, it } from 'vitest';
import { IdTable } from '@tsgi/core/server';

interface Item {
  id: number;
  name: string;
}

function add(table: IdTable<Item>, name: string): Item {
  return table.add((id) => ({ id, name }));
}

describe('IdTable: things in flight by id', () => {
  it('finds an item by the id it was given, until it is deleted', () => {
    const table = new IdTable<Item>();
    const a = add(table, 'a');
    const b = add(table, 'b');
    expect(a.id).not.toBe(b.id);
    expect(table.get(a.id)).toBe(a);
    expect(table.get(b.id)).toBe(b);
    expect(table.size).toBe(2);
    table.delete(a.id);
    expect(table.get(a.id)).toBeUndefined();
    expect(table.get(b.id)).toBe(b);
    expect(table.size).toBe(1);
  });

  it('never resolves the id of an ended item to the item that reused its cell', () => {
    const table = new IdTable<Item>();
    const old = add(table, 'old');
    table.delete(old.id);
    const next = add(table, 'next');
    expect(next.id).not.toBe(old.id);
    expect(table.get(old.id)).toBeUndefined();
    expect(table.get(next.id)).toBe(next);
    // Deleting by the stale id must not remove the new item either.
    table.delete(old.id);
    expect(table.get(next.id)).toBe(next);
    expect(table.size).toBe(1);
  });

  it('hands out ids that are positive int32s (worker threads keep them in an Int32Array), also after many reuses of a cell', () => {
    const table = new IdTable<Item>();
    const cells = new Int32Array(1);
    const seen = new Set<number>();
    let previous = 0;
    for (let i = 0; i < 5000; i++) {
      const item = add(table, `r${i}`);
      cells[0] = item.id;
      expect(cells[0]).toBe(item.id);
      expect(item.id).toBeGreaterThan(0);
      // Consecutive uses of the same cell differ, even across the wrap of the use counter.
      expect(item.id).not.toBe(previous);
      previous = item.id;
      seen.add(item.id);
      table.delete(item.id);
    }
    // One cell, reused: the use counter wrapped (2047 uses), so ids repeat only that far apart.
    expect(seen.size).toBe(2047);
    expect(table.size).toBe(0);
  });

  it('lists what is in flight, and keeps working while the list is walked', () => {
    const table = new IdTable<Item>();
    const items = ['a', 'b', 'c', 'd'].map((name) => add(table, name));
    table.delete(items[1]!.id);
    const names: string[] = [];
    for (const item of table.values()) {
      names.push(item.name);
      table.delete(item.id);
      add(table, `${item.name}2`);
    }
    expect(names).toEqual(['a', 'c', 'd']);
    expect(table.values().map((i) => i.name).sort()).toEqual(['a2', 'c2', 'd2']);
  });

  it('id 0 is never handed out and never found (the runner gives it to refused requests)', () => {
    const table = new IdTable<Item>();
    const a = add(table, 'a');
    expect(a.id).not.toBe(0);
    expect(table.get(0)).toBeUndefined();
    table.delete(0);
    expect(table.get(a.id)).toBe(a);
  });
});
