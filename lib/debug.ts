/**
 * Debug mode (`debug: true`): what Werkzeug's debugger shows for an unhandled error, without the
 * console — the error, its `cause` chain, the stack with the source lines of the application's own
 * frames, and the request (headers that carry credentials masked). As a page for browsers and as JSON
 * for API clients. Everything is escaped, and the page needs no script: it goes out under a CSP that
 * allows only its own inline style.
 *
 * Only ever used when the context is in debug mode, which options.ts allows only where NODE_ENV is
 * unset, `development` or `test`, unless forced. Even then the page must stay safe if the server is
 * reachable by others: a message (often made of user input) can never create a frame, only regular
 * files of the app are read, and every read and every page is bounded.
 */
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { extname, isAbsolute, parse, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { InternalServerError } from './exceptions.js'
import { describe } from './log.js'
import { escapeHtml } from './pages.js'
import type { ErrorView } from './pages.js'
import type { Redaction } from './redact.js'

/** One line of a source excerpt. */
export interface SourceLine {
  readonly number: number
  /** The line, cut at `MAX_LINE_CHARS` with a marker saying how much was left out. */
  readonly text: string
  /** The line the frame points at. */
  readonly current: boolean
}

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
  readonly errors: readonly DebugError[]
  readonly request: DebugRequest
  /** Some frames' source was left out: the page's budget of source (`MAX_PAGE_SOURCE_CHARS`) was used up. */
  readonly sourceCut: boolean
}

/** Deeper `cause` chains are cut here (and cycles stop at the first repeat). */
const MAX_CHAIN = 8
/** Frames shown per error. */
const MAX_FRAMES = 30
/** Lines shown before and after the current one. */
const CONTEXT_LINES = 3
/** Larger files are not excerpted (generated bundles). */
const MAX_FILE_BYTES = 1024 * 1024
/** Files kept in memory per app; the oldest is dropped past this. */
const MAX_FILES = 64
/** Longer source lines are cut, with a marker: a minified bundle is one line of a megabyte. */
const MAX_LINE_CHARS = 240
/** Source characters one page shows over all its frames; later frames show their location only. */
const MAX_PAGE_SOURCE_CHARS = 64 * 1024
/**
 * Longer stack lines end the frames. V8 prints a frame as `at fn (file:line:column)`: a line of
 * kilobytes is not one, and nothing of that size is matched.
 */
const MAX_FRAME_LINE = 4096
/** A stack shown as text (`unparsed`) is cut here. */
const MAX_STACK_TEXT = 16 * 1024
/**
 * What the page excerpts: files Node runs or that source maps point to. Not `.env`, keys, data or
 * config files that sit in the app's folder too, whatever a frame names.
 */
const SOURCE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.jsx', '.ts', '.mts', '.cts', '.tsx'])
/**
 * A FIFO, socket or device swapped in after the check must not block the event loop: O_NONBLOCK makes
 * `open` return at once, O_NOFOLLOW refuses a symlink swapped in for the checked path. (Windows has
 * neither; `|` turns the missing constants into 0.)
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/** How the stack parser asks for source: whether a file is the app's, and the lines around a line of it. */
export interface FrameSources {
  isApp: (file: string) => boolean
  excerpt: (file: string, line: number) => SourceLine[] | undefined
}

/**
 * The source files one app's debug page may read, and the lines read so far. Only regular files of the
 * app: absolute paths inside its root (the working directory when the plugin was registered, as
 * `process.cwd()` gives it, symlinks resolved), not under `node_modules`, once their own symlinks are
 * resolved still inside it, with a script's extension, at most 1 MiB. Each file is read once (at most
 * `MAX_FILES` are kept, the oldest dropped first), with its long lines already cut.
 */
export class SourceFiles implements FrameSources {
  /**
   * The app's root; undefined when it is the file system's root (a service started from `/`), where
   * every file would count as the app's: then no file is read at all.
   */
  readonly root: string | undefined
  readonly #files = new Map<string, readonly string[] | null>()

  constructor (root: string) {
    this.root = parse(root).root === root ? undefined : root
  }

  /** Whether `file`, as a frame names it, is one of the app's own files (neither Node's nor a dependency's). */
  isApp (file: string): boolean {
    return this.root !== undefined && isAbsolute(file) && inside(this.root, file)
  }

  /** The lines around `line` (1-based) of one of the app's files, or undefined when it cannot be read. */
  excerpt (file: string, line: number): SourceLine[] | undefined {
    const lines = this.#linesOf(file)
    if (lines === null || line < 1 || line > lines.length) return undefined
    const out: SourceLine[] = []
    for (let n = Math.max(1, line - CONTEXT_LINES); n <= Math.min(lines.length, line + CONTEXT_LINES); n++) {
      out.push({ number: n, text: lines[n - 1], current: n === line })
    }
    return out
  }

  #linesOf (file: string): readonly string[] | null {
    const cached = this.#files.get(file)
    if (cached !== undefined) return cached
    const lines = this.isApp(file) ? readSource(this.root as string, file) : null
    if (this.#files.size >= MAX_FILES) this.#files.delete(this.#files.keys().next().value as string)
    this.#files.set(file, lines)
    return lines
  }
}

/** `path` is below `root` and not in a dependency (`node_modules` anywhere below the root). */
function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  const parts = rel.split(/[\\/]/)
  // On Windows, a path on another drive comes back absolute.
  return !isAbsolute(rel) && !parts.includes('..') && !parts.includes('node_modules')
}

/**
 * Reads one source file of the app, or null. Symlinks are resolved first and the real path checked
 * again (a link inside the app may point at `/etc/passwd`); the path is `stat`ed before it is opened
 * (opening a FIFO for reading blocks until a writer comes: the whole server would stop), and the open
 * file is checked again with `fstat`, in case another file was swapped in between.
 */
function readSource (root: string, file: string): string[] | null {
  let fd: number | undefined
  let lines: string[] | null = null
  try {
    const real = realpathSync(file)
    const script = inside(root, real) && SOURCE_EXTENSIONS.has(extname(real).toLowerCase())
    // Only what `stat` calls a regular file is opened, and the open file must still be one.
    const size = !script || sourceSize(statSync(real)) === undefined ? undefined : sourceSize(fstatSync(fd = openSync(real, OPEN_FLAGS)))
    if (size !== undefined) {
      const buffer = Buffer.alloc(size)
      const read = readSync(fd as number, buffer, 0, size, 0)
      lines = buffer.subarray(0, read).toString('utf8').split(/\r?\n/).map(cutLine)
    }
  } catch {
    // Gone, unreadable, a dangling link: the frame is shown without its source, which is all we can do.
    lines = null
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  return lines
}

/** The size of a regular file small enough to excerpt; undefined for anything else (FIFO, socket, device, directory, bundle). */
function sourceSize (stats: Stats): number | undefined {
  return stats.isFile() && stats.size <= MAX_FILE_BYTES ? stats.size : undefined
}

/** A source line as shown: at most `MAX_LINE_CHARS`, then a marker saying how much was cut. */
function cutLine (text: string): string {
  if (text.length <= MAX_LINE_CHARS) return text
  // Not between the two halves of a surrogate pair, which would show as a replacement character.
  const high = text.charCodeAt(MAX_LINE_CHARS - 1)
  const end = high >= 0xd800 && high <= 0xdbff ? MAX_LINE_CHARS - 1 : MAX_LINE_CHARS
  return `${text.slice(0, end)}…[${text.length - end} more characters]`
}

/** One page's reads: the app's files, within the page's budget of source characters. */
class PageSources implements FrameSources {
  readonly #files: SourceFiles
  #remaining = MAX_PAGE_SOURCE_CHARS
  /** An excerpt was left out for want of budget. */
  cut = false

  constructor (files: SourceFiles) {
    this.#files = files
  }

  isApp (file: string): boolean {
    return this.#files.isApp(file)
  }

  excerpt (file: string, line: number): SourceLine[] | undefined {
    const lines = this.#files.excerpt(file, line)
    if (lines === undefined) return undefined
    const size = lines.reduce((sum, l) => sum + l.text.length, 0)
    if (size > this.#remaining) {
      this.cut = true
      return undefined
    }
    this.#remaining -= size
    return lines
  }
}

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
  return { fn: open === -1 ? '' : body.slice(0, open), file, line, column: Number(position[2]), app, source: app ? sources.excerpt(file, line) : undefined }
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
      return { relation, type, message: String(value.message), code: typeof code === 'string' ? code : undefined, stack, frames: frames ?? [], unparsed: frames === undefined }
    }
  } catch {
    // A getter or Proxy trap threw: it is shown as the value it is.
  }
  return { relation, type: value === null ? 'null' : typeof value, message: describe(value), code: undefined, stack: '', frames: [], unparsed: false }
}

function causeOf (value: unknown): unknown {
  try {
    return value instanceof Error ? value.cause : undefined
  } catch {
    // A throwing `cause` getter ends the chain.
    return undefined
  }
}

/** `value` and its `cause` chain (bounded, cycles cut). */
function chain (value: unknown, relation: 'error' | 'while handling', out: DebugError[], seen: Set<unknown>, sources: FrameSources): void {
  let current = value
  let first = true
  while (current !== undefined && !seen.has(current) && out.length < MAX_CHAIN) {
    seen.add(current)
    out.push(readError(current, first ? relation : 'cause', sources))
    first = false
    current = causeOf(current)
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
 * Flask's "Debugger is active!": logged once by each registration that turns debug mode on, so that a
 * debug page reachable where it should not be is at least in the startup log.
 */
export function warnDebugActive (log: FastifyBaseLogger, prefix: string): void {
  log.warn(`Debugger is active! fastify-flask-errors debug mode is on for ${prefix === '' ? 'the whole app' : `"${prefix}"`}: 5xx responses show the error, its stack with the source lines of the app's files, and the request. Never run it where the public can reach the server.`)
}

/**
 * The request as the debug report shows it: the app's redaction policy masks headers and query values
 * (cookie names and the auth scheme kept, as they help debugging), the same policy as reports and logs.
 */
export function requestSummary (request: FastifyRequest, redaction: Redaction): DebugRequest {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value) ? value.map((item) => redaction.header(name, item)).join(', ') : redaction.header(name, String(value))
  }
  return { method: request.method, url: redaction.url(request.url), headers }
}

/** Builds the report for one error response; source is read from the app's `sources`, within one page's budget. */
export function debugReport (error: unknown, view: ErrorView, request: FastifyRequest, redaction: Redaction, sources: SourceFiles): DebugReport {
  const page = new PageSources(sources)
  const errors = errorChain(error, page)
  return { status: view.status, name: view.name, requestId: view.requestId, errors, request: requestSummary(request, redaction), sourceCut: page.cut }
}

/**
 * The debug JSON: Fastify's `{ statusCode, error, message }` shape, with the real message (this is
 * debug mode), the request id, and a `debug` member with the chain and the request.
 */
export function debugJson (report: DebugReport): string {
  const first = report.errors[0]
  return JSON.stringify({
    statusCode: report.status,
    error: report.name,
    message: first.message,
    requestId: report.requestId,
    debug: {
      errors: report.errors.map((e) => ({
        relation: e.relation,
        type: e.type,
        message: e.message,
        code: e.code,
        frames: e.frames.map((f) => ({ fn: f.fn, file: f.file, line: f.line, column: f.column, app: f.app }))
      })),
      request: report.request
    }
  })
}

const STYLE = 'body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}' +
  'header{background:#82071e;color:#fff;padding:1.25rem 2rem}header p{margin:0;opacity:.85}' +
  'h1{margin:.25rem 0;font-size:1.6rem;word-break:break-word}main{max-width:72rem;margin:0 auto;padding:1rem 2rem 3rem}' +
  'section{margin:1.5rem 0}h2{font-size:1.15rem;margin:0 0 .5rem}h2 small{font-weight:400;color:#57606a}' +
  '.frame{margin:.5rem 0;border:1px solid #d0d7de;border-radius:8px;background:#fff;overflow:hidden}' +
  '.loc{padding:.4rem .75rem;font:13px ui-monospace,monospace;word-break:break-all}.lib{color:#57606a}' +
  'pre{margin:0;padding:.4rem 0;background:#f6f8fa;font:13px/1.45 ui-monospace,monospace;overflow-x:auto}' +
  'pre span{display:block;padding:0 .75rem;white-space:pre}pre span.cur{background:#ffebe9;font-weight:700}' +
  'details{margin:.5rem 0}summary{cursor:pointer;color:#57606a}table{border-collapse:collapse;width:100%;background:#fff}' +
  'td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top;font:13px ui-monospace,monospace;word-break:break-all}' +
  'th{width:14rem;background:#f6f8fa}.note{color:#57606a;font-size:.875rem}code{font-family:ui-monospace,monospace}'

/** Headers of the debug page: only its own inline style may apply (by hash), nothing may load or run. */
export const DEBUG_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  // A debug page holds stacks and source: no cache may keep it.
  'cache-control': 'no-store'
}

function frameHtml (frame: Frame): string {
  const where = `${escapeHtml(frame.file)}:${frame.line}:${frame.column}`
  const loc = `<div class="loc${frame.app ? '' : ' lib'}">${frame.fn === '' ? '' : `${escapeHtml(frame.fn)} — `}${where}</div>`
  if (frame.source === undefined) return `<div class="frame">${loc}</div>`
  const lines = frame.source.map((l) => `<span${l.current ? ' class="cur"' : ''}>${String(l.number).padStart(5)}  ${escapeHtml(l.text)}</span>`).join('')
  return `<div class="frame">${loc}<pre>${lines}</pre></div>`
}

function errorHtml (error: DebugError): string {
  const heading = error.relation === 'error' ? '' : `<small>${error.relation === 'cause' ? 'caused by' : 'raised while handling'}</small> `
  const code = error.code === undefined ? '' : ` <small>(${escapeHtml(error.code)})</small>`
  const app = error.frames.filter((f) => f.app)
  const other = error.frames.filter((f) => !f.app)
  const libraries = other.length === 0 ? '' : `<details><summary>${other.length} frame${other.length === 1 ? '' : 's'} in Node, node_modules and outside the app</summary>${other.map(frameHtml).join('')}</details>`
  const none = error.unparsed ? unparsedHtml(error.stack) : error.frames.length === 0 ? '<p class="note">No stack trace.</p>' : ''
  return `<section><h2>${heading}${escapeHtml(error.type)}: ${escapeHtml(error.message)}${code}</h2>${none}${app.map(frameHtml).join('')}${libraries}</section>`
}

/** A stack whose frames cannot be told from its message: as text, cut, with why. */
function unparsedHtml (stack: string): string {
  const text = stack.length <= MAX_STACK_TEXT ? stack : `${stack.slice(0, MAX_STACK_TEXT)}…[${stack.length - MAX_STACK_TEXT} more characters]`
  return '<p class="note">This stack does not begin with the error\'s name and message (they were changed after the stack was made), ' +
    'so its frames cannot be told apart from the message: it is shown as text, and no source is read for it.</p>' +
    `<pre><span>${escapeHtml(text)}</span></pre>`
}

/** The debug page. */
export function debugPage (report: DebugReport): string {
  const first = report.errors[0]
  const headers = Object.entries(report.request.headers).map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('')
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${report.status} ${escapeHtml(report.name)}: ${escapeHtml(first.type)}</title><style>${STYLE}</style></head><body>` +
    `<header><p>${report.status} ${escapeHtml(report.name)} · ${escapeHtml(report.request.method)} ${escapeHtml(report.request.url)}</p>` +
    `<h1>${escapeHtml(first.type)}: ${escapeHtml(first.message)}</h1></header><main>` +
    report.errors.map(errorHtml).join('') +
    (report.sourceCut ? `<p class="note">Source lines of further frames are left out: a debug page shows at most ${MAX_PAGE_SOURCE_CHARS / 1024} K characters of source.</p>` : '') +
    `<section><h2>Request</h2><table><tr><th>method</th><td>${escapeHtml(report.request.method)}</td></tr>` +
    `<tr><th>url</th><td>${escapeHtml(report.request.url)}</td></tr>${headers}</table></section>` +
    `<p class="note">Reference: <code>${escapeHtml(report.requestId)}</code>. This page is shown because debug mode is on; ` +
    'never turn it on for a server the public can reach.</p></main></body></html>'
}
