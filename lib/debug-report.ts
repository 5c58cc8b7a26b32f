/**
 * What debug mode shows for an unhandled error, as data: the error, its `cause` chain, the frames of
 * each stack with the source lines of the application's own frames, and the request with its
 * credentials masked — what Werkzeug's debugger shows, without the console. The page (debug-page.ts)
 * and the JSON render this report; neither reads the error again.
 *
 * A message is often made of user input, so it can never create a frame: frames are only the lines
 * V8 prints after the error's own header, and a stack whose header is not the error's is not parsed.
 */
import { fileURLToPath } from 'node:url'
import type { FastifyRequest } from 'fastify'
import { HTTPException, InternalServerError } from './exceptions.js'
import { MAX_CAUSES, causeChain, describe } from './describe.js'
import type { ErrorView } from './pages.js'
import type { Redaction } from './redact.js'
import { PageSources } from './sources.js'
import type { FrameSources, SourceFiles, SourceLine } from './sources.js'

/** One stack frame. */
export interface Frame {
  /** The function, as V8 names it (`async handler`, `Object.<anonymous>`), or empty. */
  readonly fn: string
  /** File path (or `node:…` / `<anonymous>` location). */
  readonly file: string
  readonly line: number
  readonly column: number
  /** An application frame: an absolute path inside the app's root, not under `node_modules`. */
  readonly app: boolean
  /** Lines around the frame, for application frames whose file could be read. */
  readonly source: readonly SourceLine[] | undefined
}

/** One error of the chain shown. */
export interface DebugError {
  /** `error` for the first, `cause` along `.cause`, `while handling` for the error being handled when a handler failed. */
  readonly relation: 'error' | 'cause' | 'while handling'
  /** Class name, or the type of a thrown non-error. */
  readonly type: string
  readonly message: string
  /** A string `code`, if the error has one. */
  readonly code: string | undefined
  /** The stack as V8 printed it (empty for values without one). */
  readonly stack: string
  /** The frames after the stack's header; none when `unparsed`. */
  readonly frames: readonly Frame[]
  /**
   * The stack does not begin with the error's own header (its name or message was changed after the
   * stack was made, or the stack was replaced), so where the message ends is unknown and no line of it
   * is trusted as a frame: the page shows it as text, and no file is read for it.
   */
  readonly unparsed: boolean
  /**
   * An HTTP exception: made without a stack (an abort is control flow), unless `reply.abort` made it
   * in a context in debug mode; the page says so when it has no frames.
   */
  readonly httpException: boolean
}

/** The request, as the debug page shows it. */
export interface DebugRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** Everything the debug page and JSON show. */
export interface DebugReport {
  readonly status: number
  /** The reason phrase. */
  readonly name: string
  readonly requestId: string
  /** The trace id of the request's span, when one is active. */
  readonly traceId?: string
  readonly errors: readonly DebugError[]
  readonly request: DebugRequest
  /** Some frames' source was left out: the page's budget of source (`MAX_PAGE_SOURCE_CHARS`) was used up. */
  readonly sourceCut: boolean
}

/** Deeper `cause` chains are cut here (and cycles stop at the first repeat). */
const MAX_CHAIN = 8
/** Frames shown per error. */
const MAX_FRAMES = 30
/**
 * Longer stack lines end the frames. V8 prints a frame as `at fn (file:line:column)`: a line of
 * kilobytes is not one, and nothing of that size is matched.
 */
const MAX_FRAME_LINE = 4096

/**
 * The headers V8 begins `error.stack` with, as Error.prototype.toString makes them from the `name` and
 * `message` the error has when its stack is first read: `${name}: ${message}` (the name alone when the
 * message is empty, the message alone when the name is), and Node's own errors'
 * `${name} [${code}]: ${message}`. A header may span many lines: a message can hold anything.
 */
function headersOf (error: Error): string[] {
  const name = error.name === undefined ? 'Error' : String(error.name)
  const message = error.message === undefined ? '' : String(error.message)
  const code = (error as { code?: unknown }).code
  const headers = [name === '' ? message : message === '' ? name : `${name}: ${message}`]
  if (typeof code === 'string') headers.push(`${name} [${code}]: ${message}`)
  return headers
}

/**
 * The frames of `stack`: the `at …` lines right after its header, up to the first line that is not
 * one (text appended after the frames, such as another error's stack, may hold a message too).
 * Undefined when the stack does not begin with a header of the error (see `headersOf`): then the end
 * of its message is unknown, and none of its lines can be trusted as a frame.
 */
function framesOf (error: Error, stack: string, sources: FrameSources): Frame[] | undefined {
  const header = headersOf(error).find((h) => stack.startsWith(h) && (stack.length === h.length || stack[h.length] === '\n'))
  if (header === undefined) return undefined
  const frames: Frame[] = []
  for (const text of stack.slice(header.length + 1).split('\n')) {
    const body = text.trimStart()
    if (text.length > MAX_FRAME_LINE || !body.startsWith('at ')) break
    const frame = parseFrame(body.slice(3), sources)
    if (frame === undefined) continue
    frames.push(frame)
    if (frames.length === MAX_FRAMES) break
  }
  return frames
}

/** A line's trailing `:line:column` (anchored, and the line is short: no backtracking to speak of). */
const POSITION = /:(\d+):(\d+)$/

/**
 * One V8 frame after its `at `: `fn (location)` or a bare `location`, where the location ends in
 * `:line:column`. Locations without one (`native`, `<anonymous>`, `index 0`) are not frames we show.
 * Parsed by position, not by one regular expression over the line (which can backtrack quadratically).
 */
function parseFrame (body: string, sources: FrameSources): Frame | undefined {
  const open = body.endsWith(')') ? body.indexOf(' (') : -1
  const location = open === -1 ? body : body.slice(open + 2, -1)
  const position = POSITION.exec(location)
  if (position === null) return undefined
  const file = localPath(location.slice(0, position.index))
  const line = Number(position[1])
  const app = sources.isApp(file)
  const source = app ? sources.excerpt(file, line) : undefined
  return { fn: open === -1 ? '' : body.slice(0, open), file, line, column: Number(position[2]), app, source }
}

/** A `file://` URL as a path; anything else (or a URL that names another host) as it is. */
function localPath (location: string): string {
  if (!location.startsWith('file://')) return location
  try {
    return fileURLToPath(location)
  } catch {
    // `file://host/…`: not a file on this machine; shown as printed, and not read.
    return location
  }
}

/** Reads one value of the chain, whatever it is, without throwing. */
function readError (value: unknown, relation: DebugError['relation'], sources: FrameSources): DebugError {
  try {
    if (value instanceof Error) {
      const stack = typeof value.stack === 'string' ? value.stack : ''
      const code = (value as { code?: unknown }).code
      // The class name says more than `name` ("NotFound" rather than "Not Found", "DbError" rather than "Error").
      const type = value.constructor.name || value.name
      const frames = stack === '' ? [] : framesOf(value, stack, sources)
      return {
        relation,
        type,
        message: String(value.message),
        code: typeof code === 'string' ? code : undefined,
        stack,
        frames: frames ?? [],
        unparsed: frames === undefined,
        httpException: value instanceof HTTPException
      }
    }
  } catch {
    // A getter or Proxy trap threw: it is shown as the value it is.
  }
  const type = value === null ? 'null' : typeof value
  return { relation, type, message: describe(value), code: undefined, stack: '', frames: [], unparsed: false, httpException: false }
}

/** `value` and its `cause` chain (the one walk of describe.ts: bounded, cycles cut), up to MAX_CHAIN errors shown. */
function chain (value: unknown, relation: 'error' | 'while handling', out: DebugError[], seen: Set<unknown>, sources: FrameSources): void {
  const { links } = causeChain(value, MAX_CAUSES)
  for (let i = 0; i < links.length && out.length < MAX_CHAIN && !seen.has(links[i]); i++) {
    seen.add(links[i])
    out.push(readError(links[i], i === 0 ? relation : 'cause', sources))
  }
}

/**
 * The errors to show for `error`, most relevant first, their frames' source read through `sources`.
 * A 500 made from an unhandled value shows that value (its `originalError`), not the wrapper; when
 * the 500 comes from a failing handler, the error that handler was handling (the wrapper's `cause`)
 * follows as "while handling".
 */
export function errorChain (error: unknown, sources: FrameSources): DebugError[] {
  const out: DebugError[] = []
  const seen = new Set<unknown>()
  const wrapped = error instanceof InternalServerError && error.originalError !== undefined
  chain(wrapped ? error.originalError : error, 'error', out, seen, sources)
  if (wrapped && error.cause !== undefined) chain(error.cause, 'while handling', out, seen, sources)
  return out
}

/**
 * The request as the debug report shows it: the app's redaction policy masks headers and query values
 * (cookie names and the auth scheme kept, as they help debugging), the same policy as reports and logs.
 */
export function requestSummary (request: FastifyRequest, redaction: Redaction): DebugRequest {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value)
      ? value.map((item) => redaction.header(name, item)).join(', ')
      : redaction.header(name, String(value))
  }
  return { method: request.method, url: redaction.url(request.url), headers }
}

/** Builds the report for one error response; source is read from the app's `sources`, within one page's budget. */
export function debugReport (
  error: unknown, view: ErrorView, request: FastifyRequest, redaction: Redaction, sources: SourceFiles
): DebugReport {
  const page = new PageSources(sources)
  const errors = errorChain(error, page)
  const summary = requestSummary(request, redaction)
  return {
    status: view.status, name: view.name, requestId: view.requestId, traceId: view.traceId, errors, request: summary, sourceCut: page.cut
  }
}
