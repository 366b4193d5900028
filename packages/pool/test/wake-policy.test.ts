import { describe, expect, it } from 'vitest';
import { FORCE_AFTER_MS, SLOW_TASK_US, WakePolicy } from '../src/runner/wake-policy.js';

const loop = (idle: number, active: number) => ({ idle, active });

describe('wake policy: tasks wake workers only up to the cores, more only when the awake ones are stuck', () => {
  it('a new task wakes one worker while fewer than `eager` are awake, none after', () => {
    const policy = new WakePolicy(3);
    const allBusy = () => 8;
    expect([0, 1, 2, 3, 8].map((awake) => policy.onTask(awake, 50, allBusy))).toEqual([1, 1, 1, 0, 0]);
  });

  it(`with requests of ${SLOW_TASK_US} us or more (a blocking app), a task wakes one more worker when every awake one is in a request`, () => {
    const policy = new WakePolicy(1);
    expect(policy.onTask(4, SLOW_TASK_US, () => 4)).toBe(1);
    expect(policy.onTask(4, 10_000, () => 5)).toBe(1);
    // One awake worker is between requests: it takes the task.
    expect(policy.onTask(4, 10_000, () => 3)).toBe(0);
    // Quick requests: the busy workers are free again in microseconds.
    expect(policy.onTask(4, SLOW_TASK_US - 1, () => 4)).toBe(0);
  });

  it('counts the busy workers only when the decision needs them', () => {
    const policy = new WakePolicy(2);
    let asked = 0;
    const busy = () => {
      asked++;
      return 8;
    };
    policy.onTask(1, 10_000, busy);
    policy.onTask(8, 40, busy);
    expect(asked).toBe(0);
    policy.onTask(8, 10_000, busy);
    expect(asked).toBe(1);
  });

  it('a check wakes none while workers take tasks', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(100, loop(0, 0), 0);
    expect(policy.onCheck(20, 130, loop(5, 1), 1)).toBe(0);
    expect(policy.onCheck(5, 140, loop(10, 2), 2)).toBe(0);
  });

  it('a check wakes one per waiting task when no task was taken while the main thread sat idle (a blocking app)', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(7, loop(0, 0), 0);
    expect(policy.onCheck(12, 7, loop(0.9, 0.1), 1)).toBe(12);
    // The counter wraps: only equality matters.
    policy.startChecks(-2147483648, loop(0, 0), 0);
    expect(policy.onCheck(3, -2147483648, loop(1, 0), 1)).toBe(3);
  });

  it('while the main thread is the busy one, no task taken wakes none at first (workers may just not be scheduled)', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(7, loop(10, 10), 0);
    expect(policy.onCheck(12, 7, loop(10.2, 11), 1)).toBe(0);
  });

  it(`but ${FORCE_AFTER_MS} ms without a task taken wakes one more worker even then, and again after as long (a stuck worker behind a busy main thread)`, () => {
    const policy = new WakePolicy(1);
    policy.startChecks(7, loop(0, 0), 0);
    const busy = (ms: number) => loop(0.1 * ms, 0.9 * ms);
    const woken: number[] = [];
    for (let ms = 1; ms <= 2 * FORCE_AFTER_MS; ms++) woken.push(policy.onCheck(12, 7, busy(ms), ms));
    expect(woken.filter((n) => n > 0)).toEqual([1, 1]);
    expect(woken.indexOf(1)).toBe(FORCE_AFTER_MS - 1);
    // A task taken restarts the clock.
    expect(policy.onCheck(12, 8, busy(2 * FORCE_AFTER_MS + 1), 2 * FORCE_AFTER_MS + 1)).toBe(0);
    expect(policy.onCheck(12, 8, busy(2 * FORCE_AFTER_MS + 2), 2 * FORCE_AFTER_MS + 2)).toBe(0);
  });

  it('each check compares with the one before, and an empty queue wakes none', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(0, loop(0, 0), 0);
    expect(policy.onCheck(4, 1, loop(1, 0), 1)).toBe(0); // one taken since the start
    expect(policy.onCheck(4, 1, loop(2, 0), 2)).toBe(4); // none since the last check
    expect(policy.onCheck(0, 1, loop(3, 0), 3)).toBe(0);
  });

  it('refuses an eager count below 1', () => {
    expect(() => new WakePolicy(0)).toThrow(/eager must be an integer >= 1; got 0/);
  });
});
