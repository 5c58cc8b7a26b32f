/**
 * Deadlines for work an error response waits on (a template render), so that nothing hangs: work
 * still running at its deadline is cut off and the caller answers with its fallback.
 *
 * One shared timer per limit instead of a timer each: arming and clearing a `setTimeout` for every
 * error page cost more than the rest of our part of the render. Watched work sits in a plain array:
 * released work is only marked (its callback dropped, so the finished request is not kept alive) and
 * left behind by the next sweep, which is cheaper than adding every page to a `Set` and deleting it.
 *
 * Async error handlers keep a timer each (lib/dispatch.ts): they cost the same watched either way,
 * and their own timer is cleared the moment the response closes.
 */

/** One piece of watched work. */
export interface Deadline {
  /** When the work must have finished (ms since the epoch). */
  readonly at: number
  /** Runs once if the deadline passes first; undefined once released or run. */
  expire: (() => void) | undefined
}

/**
 * Deadlines that share one limit and one timer. The timer runs while work is watched, every tenth
 * of the limit (at least every 10 ms), so work is cut off at most one such interval after its
 * deadline. It holds the process open only while some work is pending: once all is released it is
 * unref'd, so a closing app (or a test run) is not kept waiting for the next sweep.
 *
 * @example
 * const renders = new DeadlineWatch(3000)
 * const deadline = renders.watch(() => { answer(undefined, new Error('too slow')) })
 * promise.then((html) => { if (renders.release(deadline)) answer(html) })
 */
export class DeadlineWatch {
  /** How long watched work may take, in ms. */
  readonly limitMs: number
  #watched: Deadline[] = []
  #pending = 0
  #timer: ReturnType<typeof setInterval> | undefined

  constructor (limitMs: number) {
    this.limitMs = limitMs
  }

  /** Watches work that must finish within the limit: `expire` runs if it is not released by then. */
  watch (expire: () => void): Deadline {
    const limit = this.limitMs
    const deadline: Deadline = { at: Date.now() + limit, expire }
    this.#watched.push(deadline)
    if (this.#pending++ === 0) {
      // Ref'd while work is pending: a request waits on it (an injected one has no socket to keep
      // the process up).
      if (this.#timer === undefined) this.#timer = setInterval(() => { this.#sweep() }, Math.max(10, limit / 10))
      else this.#timer.ref()
    }
    return deadline
  }

  /**
   * Stops watching: true when the deadline had not passed yet (the work finished in time and is
   * still the caller's to use), false when it had already expired or been released.
   */
  release (deadline: Deadline): boolean {
    if (deadline.expire === undefined) return false
    deadline.expire = undefined
    if (--this.#pending === 0) this.#timer?.unref()
    return true
  }

  #sweep (): void {
    const now = Date.now()
    const late: Deadline[] = []
    const waiting: Deadline[] = []
    for (const deadline of this.#watched) {
      if (deadline.expire === undefined) continue
      if (deadline.at <= now) late.push(deadline)
      else waiting.push(deadline)
    }
    // Swapped before the late ones expire: expiring one may start other watched work (the 500
    // page's template), which must land in the list the next sweep reads.
    this.#watched = waiting
    for (const deadline of late) {
      // Read again: an earlier expiry in this sweep may have released it.
      const expire = deadline.expire
      if (expire !== undefined && this.release(deadline)) expire()
    }
    if (this.#watched.length === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
