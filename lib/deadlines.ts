/**
 * Deadlines for work an error response waits on (a template render), so that nothing hangs: work
 * still running at its deadline is cut off and the caller answers with its fallback.
 *
 * One shared timer per limit instead of a timer each: arming and clearing a `setTimeout` for every
 * error page costs more than the rest of our part of the render. Watched work sits in a doubly linked
 * list, in the order it was watched: with one limit for all of it, that is the order of the deadlines,
 * so a sweep reads only the head. Released work is unlinked at once, so it is garbage as soon as its
 * request is: work that lingered in a list until the next sweep (a tenth of the limit) outlived the
 * garbage collector's young generation at a few thousand pages a second, and its promotion cost more
 * than the render itself.
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

/** A deadline as the list holds it. */
interface Node extends Deadline {
  previous: Node | undefined
  next: Node | undefined
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
  /** The oldest and the newest pending work. */
  #head: Node | undefined
  #tail: Node | undefined
  #timer: ReturnType<typeof setInterval> | undefined

  constructor (limitMs: number) {
    this.limitMs = limitMs
  }

  /** Watches work that must finish within the limit: `expire` runs if it is not released by then. */
  watch (expire: () => void): Deadline {
    const limit = this.limitMs
    const node: Node = { at: Date.now() + limit, expire, previous: this.#tail, next: undefined }
    if (this.#tail === undefined) {
      this.#head = node
      // Ref'd while work is pending: a request waits on it (an injected one has no socket to keep
      // the process up).
      if (this.#timer === undefined) this.#timer = setInterval(() => { this.#sweep() }, Math.max(10, limit / 10))
      else this.#timer.ref()
    } else {
      this.#tail.next = node
    }
    this.#tail = node
    return node
  }

  /**
   * Stops watching: true when the deadline had not passed yet (the work finished in time and is
   * still the caller's to use), false when it had already expired or been released.
   */
  release (deadline: Deadline): boolean {
    if (deadline.expire === undefined) return false
    const node = deadline as Node
    node.expire = undefined
    if (node.previous === undefined) this.#head = node.next
    else node.previous.next = node.next
    if (node.next === undefined) this.#tail = node.previous
    else node.next.previous = node.previous
    node.previous = node.next = undefined
    if (this.#head === undefined) this.#timer?.unref()
    return true
  }

  #sweep (): void {
    const now = Date.now()
    // The head is the oldest work: once it is not late, none after it is. An expiry may start other
    // watched work (the 500 page's template), appended after `now`'s deadlines, or release later work.
    for (let node = this.#head; node !== undefined && node.at <= now; node = this.#head) {
      const expire = node.expire as () => void
      this.release(node)
      expire()
    }
    if (this.#head === undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
