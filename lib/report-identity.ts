/**
 * What a report is about, and when two reports are about the same error: the failure a report stands
 * for, the identity that duplicate suppression and the report budget count by (class + message + throw
 * site, hashed), and the bounded snapshot a summary of repeats carries instead of the thrown value.
 */
import { createHash } from 'node:crypto'
import { InternalServerError } from './exceptions.js'
import { causeChain, errorClass, errorMessage, isError } from './describe.js'

/** What a summary keeps of a repeated error's message and of its stack frames (characters). */
const SNAPSHOT_MESSAGE = 2048
const SNAPSHOT_FRAMES = 4096
/**
 * Causes a snapshot keeps: fewer than a log line's, because a dedupe window holds one snapshot per
 * repeated error for the whole window, and its size must not depend on what was thrown.
 */
const SNAPSHOT_CAUSES = 3

/**
 * What a summary of duplicates carries instead of the repeated error: its class, message, code, stack
 * frames and causes, each cut to a few KB. A window holds one per repeated error, whatever size the
 * thrown value had (a 900 KB message is kept as its first 2 KB). An `Error`, so a reporter that
 * formats `report.error` (a mail, an error service client) needs no special case.
 */
export class ErrorSnapshot extends Error {
  /** The class of the value that was thrown (`TypeError`, `PaymentError`, `string` for a thrown string). */
  readonly type: string
  /** The original's `code`, when it was a string or a number. */
  readonly code: string | number | undefined

  /**
   * Copies a bounded picture of `value`.
   * @param causes the values below it to keep as its causes, in order; by default its first three causes.
   */
  constructor (value: unknown, causes: readonly unknown[] = causeChain(value, SNAPSHOT_CAUSES).links.slice(1)) {
    const message = cut(errorMessage(value), SNAPSHOT_MESSAGE)
    super(message, causes.length === 0 ? undefined : { cause: new ErrorSnapshot(causes[0], causes.slice(1)) })
    this.type = errorClass(value)
    this.name = this.type
    this.code = codeOf(value)
    // The original's frames, not this constructor's: they say where the error was thrown.
    this.stack = `${this.type}: ${message}\n${cut(framesOf(value), SNAPSHOT_FRAMES)}`.trimEnd()
  }
}

/**
 * `text` cut at `max` characters with a marker saying how much was left out, as a string of its own:
 * V8 makes a slice of a long string a view that keeps the whole original alive (a 2 KB cut of a
 * 900 KB message would hold the 900 KB), so the kept text is copied through a buffer, code unit for
 * code unit (UTF-16), which makes a flat string that owns its characters.
 */
export function cut (text: string, max: number): string {
  const kept = text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more characters]`
  return Buffer.from(kept, 'utf16le').toString('utf16le')
}

/** A string or number `code`, cut; anything else is not kept (it could be any size). */
function codeOf (value: unknown): string | number | undefined {
  try {
    const code = isError(value) ? (value as { code?: unknown }).code : undefined
    return typeof code === 'number' ? code : typeof code === 'string' ? cut(code, 200) : undefined
  } catch {
    // A throwing `code` getter: the snapshot has no code.
    return undefined
  }
}

/**
 * The frame lines of an error's stack, from the first `at …` line after the message: V8 writes the
 * stack as `Name: message` and then the frames, and a message can itself contain lines that look like
 * frames (`"\n    at fake (x.js:1:1)"` from user input), which must not count as the throw site.
 */
function framesOf (value: unknown): string {
  let stack: unknown
  try {
    stack = isError(value) ? value.stack : undefined
  } catch {
    // The stack getter threw: there are no frames to read.
    return ''
  }
  if (typeof stack !== 'string') return ''
  const message = errorMessage(value)
  const at = message === '' ? -1 : stack.indexOf(message)
  const rest = at === -1 ? stack : stack.slice(at + message.length)
  const first = /^[ \t]*at /m.exec(rest)
  return first === null ? '' : rest.slice(first.index)
}

/** The first `at …` line of an error's stack (after its message), the place it was thrown from. */
function topFrame (value: unknown): string {
  const frames = framesOf(value)
  const end = frames.indexOf('\n')
  return (end === -1 ? frames : frames.slice(0, end)).trim()
}

/** Identity of an error for duplicate suppression: class + message + top stack frame. */
export function fingerprint (value: unknown): string {
  return `${errorClass(value)}\u0000${errorMessage(value)}\u0000${topFrame(value)}`
}

/** A fixed-size key for a map: what a window keeps of an identity, whatever the message's size. */
function digest (text: string): string {
  return createHash('sha1').update(text).digest('base64')
}

/**
 * What a report is about. A handler that failed is reported as the 500 made of its failure
 * (`originalError`) and of the error it was handling (`cause`); the failure is the bug, so it is what
 * tells reports apart — otherwise every failing handler would share the wrapper's class and text.
 */
export function reportedFailure (error: unknown): unknown {
  try {
    return error instanceof InternalServerError && error.originalError !== undefined ? error.originalError : error
  } catch {
    // A revoked Proxy cannot even be asked for its class: it is reported as the value it is.
    return error
  }
}

/**
 * The keys the report budget uses for `reported`: `key` is the error (class + message + throw site),
 * `site` the place it comes from (class + throw site, any message), both hashed.
 */
export function reportKeys (reported: unknown): { key: string, site: string } {
  const value = reportedFailure(reported)
  return { key: digest(fingerprint(value)), site: digest(`${errorClass(value)}\u0000${topFrame(value)}`) }
}
