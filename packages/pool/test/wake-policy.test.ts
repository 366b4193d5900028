import { describe, expect, it } from 'vitest';
import { WakePolicy } from '../src/runner/wake-policy.js';

const loop = (idle: number, active: number) => ({ idle, active });

describe('wake policy: tasks wake workers only up to the cores, more only when the awake ones are stuck', () => {
  it('a new task wakes one worker while fewer than `eager` are awake, none after', () => {
    const policy = new WakePolicy(3);
    expect([0, 1, 2, 3, 8].map((awake) => policy.onTask(awake))).toEqual([1, 1, 1, 0, 0]);
  });

  it('a check wakes none while workers take tasks', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(100, loop(0, 0));
    expect(policy.onCheck(20, 130, loop(5, 1))).toBe(0);
    expect(policy.onCheck(5, 140, loop(10, 2))).toBe(0);
  });

  it('a check wakes one per waiting task when no task was taken while the main thread sat idle (a blocking app)', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(7, loop(0, 0));
    expect(policy.onCheck(12, 7, loop(0.9, 0.1))).toBe(12);
    // The counter wraps: only equality matters.
    policy.startChecks(-2147483648, loop(0, 0));
    expect(policy.onCheck(3, -2147483648, loop(1, 0))).toBe(3);
  });

  it('a check wakes none when the main thread was the busy one (workers were not scheduled, not stuck)', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(7, loop(10, 10));
    expect(policy.onCheck(12, 7, loop(10.2, 11))).toBe(0);
  });

  it('each check compares with the one before, and an empty queue wakes none', () => {
    const policy = new WakePolicy(1);
    policy.startChecks(0, loop(0, 0));
    expect(policy.onCheck(4, 1, loop(1, 0))).toBe(0); // one taken since the start
    expect(policy.onCheck(4, 1, loop(2, 0))).toBe(4); // none since the last check
    expect(policy.onCheck(0, 1, loop(3, 0))).toBe(0);
  });

  it('refuses an eager count below 1', () => {
    expect(() => new WakePolicy(0)).toThrow(/eager must be an integer >= 1; got 0/);
  });
});
