/**
 * Debug mode (DESIGN §6, `debug: true`): what Werkzeug's debugger shows for an unhandled error, without
 * the console — the error, its `cause` chain, the stack with the source lines of the application's own
 * frames, and the request (headers that carry credentials masked). As a page for browsers and as JSON
 * for API clients. Everything is escaped, and the page needs no script: it goes out under a CSP that
 * allows only its own inline style.
 *
 * Only ever used when the context is in debug mode, which options.ts refuses under
 * `NODE_ENV=production` unless forced.
 */
import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyRequest } from 'fastify'
import { InternalServerError } from './exceptions.js'
import { describe } from './log.js'
import { escapeHtml } from './pages.js'
import type { ErrorView } from './pages.js'
import type { Redaction } from './redact.js'

/** One line of a source excerpt. */
export interface SourceLine {
  readonly number: number
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
  /** An application frame: a real file outside `node_modules`, not Node's own. */
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
  readonly frames: readonly Frame[]
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
}

/** Deeper `cause` chains are cut here (and cycles stop at the first repeat). */
const MAX_CHAIN = 8
/** Frames shown per error. */
const MAX_FRAMES = 30
/** Lines shown before and after the current one. */
const CONTEXT_LINES = 3
/** Larger files are not excerpted (generated bundles). */
const MAX_FILE_BYTES = 1024 * 1024
/** Files kept in memory; the oldest is dropped past this. */
const MAX_FILES = 64

/** Source files read so far: path → lines, or null when it could not be read. */
const sources = new Map<string, readonly string[] | null>()

/** Lines of a file, read once and kept (bounded: at most `MAX_FILES` files of at most 1 MiB). */
function linesOf (file: string): readonly string[] | null {
  const cached = sources.get(file)
  if (cached !== undefined) return cached
  let lines: string[] | null = null
  try {
    const fd = openSync(file, 'r')
    try {
      const size = fstatSync(fd).size
      if (size <= MAX_FILE_BYTES) {
        const buffer = Buffer.alloc(size)
        readSync(fd, buffer, 0, size, 0)
        lines = buffer.toString('utf8').split(/\r?\n/)
      }
    } finally {
      closeSync(fd)
    }
  } catch {
    // Gone, unreadable, or a directory: the frame is shown without its source, which is all we can do.
    lines = null
  }
  if (sources.size >= MAX_FILES) sources.delete(sources.keys().next().value as string)
  sources.set(file, lines)
  return lines
}

/** The lines around `line` (1-based) of `file`, or undefined when it cannot be read. */
export function excerpt (file: string, line: number): SourceLine[] | undefined {
  const lines = linesOf(file)
  if (lines === null || line < 1 || line > lines.length) return undefined
  const out: SourceLine[] = []
  for (let n = Math.max(1, line - CONTEXT_LINES); n <= Math.min(lines.length, line + CONTEXT_LINES); n++) {
    out.push({ number: n, text: lines[n - 1], current: n === line })
  }
  return out
}

/** How many files are cached now (for the test of the bound). */
export function cachedSourceCount (): number {
  return sources.size
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/

/** V8 stack lines → frames; lines that are not frames (the message, `[...]`) are skipped. */
export function parseStack (stack: string): Frame[] {
  const frames: Frame[] = []
  for (const text of stack.split('\n')) {
    const match = FRAME.exec(text)
    if (match === null) continue
    const file = localPath(match[2])
    const line = Number(match[3])
    const app = isAbsolute(file) && !/[\\/]node_modules[\\/]/.test(file)
    frames.push({ fn: match[1] ?? '', file, line, column: Number(match[4]), app, source: app ? excerpt(file, line) : undefined })
    if (frames.length === MAX_FRAMES) break
  }
  return frames
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
function readError (value: unknown, relation: DebugError['relation']): DebugError {
  try {
    if (value instanceof Error) {
      const stack = typeof value.stack === 'string' ? value.stack : ''
      const code = (value as { code?: unknown }).code
      // The class name says more than `name` ("NotFound" rather than "Not Found", "DbError" rather than "Error").
      const type = value.constructor.name || value.name
      return { relation, type, message: String(value.message), code: typeof code === 'string' ? code : undefined, stack, frames: parseStack(stack) }
    }
  } catch {
    // A getter or Proxy trap threw: it is shown as the value it is.
  }
  return { relation, type: value === null ? 'null' : typeof value, message: describe(value), code: undefined, stack: '', frames: [] }
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
function chain (value: unknown, relation: 'error' | 'while handling', out: DebugError[], seen: Set<unknown>): void {
  let current = value
  let first = true
  while (current !== undefined && !seen.has(current) && out.length < MAX_CHAIN) {
    seen.add(current)
    out.push(readError(current, first ? relation : 'cause'))
    first = false
    current = causeOf(current)
  }
}

/**
 * The errors to show for `error`, most relevant first. A 500 made from an unhandled value shows that
 * value (its `originalError`), not the wrapper; when the 500 comes from a failing handler, the error
 * that handler was handling (the wrapper's `cause`) follows as "while handling".
 */
export function errorChain (error: unknown): DebugError[] {
  const out: DebugError[] = []
  const seen = new Set<unknown>()
  const wrapped = error instanceof InternalServerError && error.originalError !== undefined
  chain(wrapped ? error.originalError : error, 'error', out, seen)
  if (wrapped && error.cause !== undefined) chain(error.cause, 'while handling', out, seen)
  return out
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

/** Builds the report for one error response. */
export function debugReport (error: unknown, view: ErrorView, request: FastifyRequest, redaction: Redaction): DebugReport {
  return { status: view.status, name: view.name, requestId: view.requestId, errors: errorChain(error), request: requestSummary(request, redaction) }
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
  const libraries = other.length === 0 ? '' : `<details><summary>${other.length} frame${other.length === 1 ? '' : 's'} in Node and node_modules</summary>${other.map(frameHtml).join('')}</details>`
  const none = error.frames.length === 0 ? '<p class="note">No stack trace.</p>' : ''
  return `<section><h2>${heading}${escapeHtml(error.type)}: ${escapeHtml(error.message)}${code}</h2>${none}${app.map(frameHtml).join('')}${libraries}</section>`
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
    `<section><h2>Request</h2><table><tr><th>method</th><td>${escapeHtml(report.request.method)}</td></tr>` +
    `<tr><th>url</th><td>${escapeHtml(report.request.url)}</td></tr>${headers}</table></section>` +
    `<p class="note">Reference: <code>${escapeHtml(report.requestId)}</code>. This page is shown because debug mode is on; ` +
    'never turn it on for a server the public can reach.</p></main></body></html>'
}
