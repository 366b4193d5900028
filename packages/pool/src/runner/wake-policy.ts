/**
 * How many worker threads the runner keeps awake: the decision alone, fed
 * with counts and times by the runner (no threads, no timers here).
 *
 * A new task wakes a sleeping worker only while fewer workers are awake
 * than `eager` (the cores this process may use, less one for the main
 * thread). So an app that answers quickly is served by a few warm threads,
 * back to back, instead of paying a thread switch per request on every one
 * of them.
 *
 * An app whose requests each hold their thread a long while (a blocking
 * app: the workers' recent time per request is SLOW_TASK_US or more) is the
 * exception: when every awake worker is in a request, it would not be free
 * for milliseconds, so a new task wakes a sleeper at once instead of
 * waiting for the next check.
 *
 * While tasks wait, the runner checks every few milliseconds. When no
 * worker took a task since the last check although the main thread sat
 * idle for at least half of that time (so the workers had the CPU to take
 * one), every awake worker is stuck in a request (a blocking app): a
 * sleeper is woken per waiting task, and a blocking app gets every thread
 * it needs within a few milliseconds. While the main thread is what keeps
 * the CPU busy, workers not taking tasks may merely not be scheduled, and
 * waking all the sleepers would only make them take turns; but the main
 * thread can be busy for long stretches while the awake workers are stuck
 * (streaming a large response for one of them, say), so after
 * FORCE_AFTER_MS without a task taken one sleeper is woken anyway, or a
 * request could wait behind that stretch for its whole length.
 *
 * docs/decisions.md, decision 3, has the measurements behind each rule.
 */

/** How long tasks may wait untaken while the main thread is busy before one more worker is woken. */
export const FORCE_AFTER_MS = 5;

/** Workers' recent time per request (µs) from which an awake worker in a request is not expected free soon. */
export const SLOW_TASK_US = 1000;

/** The main thread's event-loop time, as `performance.eventLoopUtilization()` reports it (ms). */
export interface LoopTime {
  idle: number;
  active: number;
}

/** The wake-up decisions of one runner. */
export class WakePolicy {
  private takenBefore = 0;
  private loopBefore: LoopTime = { idle: 0, active: 0 };
  /** When a task was last seen taken (or checks began), in ms. */
  private progressAt = 0;

  /** `eager`: how many workers a task may wake without a stall (at least 1). */
  constructor(readonly eager: number) {
    if (!Number.isInteger(eager) || eager < 1) throw new RangeError(`eager must be an integer >= 1; got ${eager}`);
  }

  /**
   * Workers to wake for a task just appended, with `awake` workers not
   * sleeping, taking `taskUs` per request of late; `busy()` counts the
   * workers in a request (asked only when needed: it walks every slot).
   */
  onTask(awake: number, taskUs: number, busy: () => number): number {
    if (awake < this.eager) return 1;
    return taskUs >= SLOW_TASK_US && busy() >= awake ? 1 : 0;
  }

  /** Checks begin (tasks started waiting) at `now` (ms): remember where the workers and the loop stand. */
  startChecks(taken: number, loop: LoopTime, now: number): void {
    this.takenBefore = taken;
    this.loopBefore = loop;
    this.progressAt = now;
  }

  /** Workers to wake at a check at `now` (ms), with `waiting` tasks queued and `taken` claimed so far (a wrapping counter). */
  onCheck(waiting: number, taken: number, loop: LoopTime, now: number): number {
    const progressed = taken !== this.takenBefore;
    const mainIdle = loop.idle - this.loopBefore.idle >= loop.active - this.loopBefore.active;
    this.takenBefore = taken;
    this.loopBefore = loop;
    if (progressed || waiting === 0) {
      this.progressAt = now;
      return 0;
    }
    if (mainIdle) return waiting;
    if (now - this.progressAt < FORCE_AFTER_MS) return 0;
    this.progressAt = now;
    return 1;
  }
}
