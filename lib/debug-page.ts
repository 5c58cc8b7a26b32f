/**
 * The debug page: a debug report (debug-report.ts) as HTML for browsers. Everything is escaped (a
 * message, a URL, a header are often made of user input), and the page needs no script: it goes out
 * under a CSP that allows only its own inline style, by hash, so that even an escaping mistake could
 * run nothing.
 */
import { escapeHtml, styleOnlyHeaders } from './pages.js'
import type { DebugError, DebugReport, Frame } from './debug-report.js'
import { MAX_PAGE_SOURCE_CHARS } from './sources.js'

/** A stack shown as text (`unparsed`) is cut here. */
const MAX_STACK_TEXT = 16 * 1024

const STYLE = 'body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}' +
  'header{background:#82071e;color:#fff;padding:1.25rem 2rem}header p{margin:0;opacity:.85}' +
  'h1{margin:.25rem 0;font-size:1.6rem;word-break:break-word}main{max-width:72rem;margin:0 auto;padding:1rem 2rem 3rem}' +
  'section{margin:1.5rem 0}h2{font-size:1.15rem;margin:0 0 .5rem}h2 small{font-weight:400;color:#57606a}' +
  '.frame{margin:.5rem 0;border:1px solid #d0d7de;border-radius:8px;background:#fff;overflow:hidden}' +
  '.loc{padding:.4rem .75rem;font:13px ui-monospace,monospace;word-break:break-all}.lib{color:#57606a}' +
  'pre{margin:0;padding:.4rem 0;background:#f6f8fa;font:13px/1.45 ui-monospace,monospace;overflow-x:auto}' +
  'pre span{display:block;padding:0 .75rem;white-space:pre}pre span.cur{background:#ffebe9;font-weight:700}' +
  'details{margin:.5rem 0}summary{cursor:pointer;color:#57606a}table{border-collapse:collapse;width:100%;background:#fff}' +
  'td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top;' +
  'font:13px ui-monospace,monospace;word-break:break-all}' +
  'th{width:14rem;background:#f6f8fa}.note{color:#57606a;font-size:.875rem}code{font-family:ui-monospace,monospace}'

/** Headers of the debug page: only its own inline style may apply (by hash), nothing may load or run. */
export const DEBUG_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...styleOnlyHeaders(STYLE),
  // A debug page holds stacks and source: no cache may keep it.
  'cache-control': 'no-store'
})

/**
 * What the page says for an error without frames. An HTTP exception has none unless `reply.abort` made
 * it in a context in debug mode: a bare `abort()` or `new NotFound()` cannot know its app.
 */
const NO_STACK = '<p class="note">No stack trace.</p>'
const NO_HTTP_STACK = '<p class="note">No stack trace: HTTP exceptions are made without one (an abort is control flow), except by ' +
  '<code>reply.abort(…)</code> in a context in debug mode. Raise it with <code>reply.abort(…)</code> to see where it came from.</p>'

function frameHtml (frame: Frame): string {
  const where = `${escapeHtml(frame.file)}:${frame.line}:${frame.column}`
  const loc = `<div class="loc${frame.app ? '' : ' lib'}">${frame.fn === '' ? '' : `${escapeHtml(frame.fn)} — `}${where}</div>`
  if (frame.source === undefined) return `<div class="frame">${loc}</div>`
  const lines = frame.source
    .map((l) => `<span${l.current ? ' class="cur"' : ''}>${String(l.number).padStart(5)}  ${escapeHtml(l.text)}</span>`).join('')
  return `<div class="frame">${loc}<pre>${lines}</pre></div>`
}

function errorHtml (error: DebugError): string {
  const heading = error.relation === 'error' ? '' : `<small>${error.relation === 'cause' ? 'caused by' : 'raised while handling'}</small> `
  const code = error.code === undefined ? '' : ` <small>(${escapeHtml(error.code)})</small>`
  const app = error.frames.filter((f) => f.app)
  const other = error.frames.filter((f) => !f.app)
  const libraries = other.length === 0
    ? ''
    : `<details><summary>${other.length} frame${other.length === 1 ? '' : 's'} in Node, node_modules and outside the app</summary>` +
      `${other.map(frameHtml).join('')}</details>`
  const none = error.unparsed ? unparsedHtml(error.stack) : error.frames.length > 0 ? '' : error.httpException ? NO_HTTP_STACK : NO_STACK
  return `<section><h2>${heading}${escapeHtml(error.type)}: ${escapeHtml(error.message)}${code}</h2>` +
    `${none}${app.map(frameHtml).join('')}${libraries}</section>`
}

/** A stack whose frames cannot be told from its message: as text, cut, with why. */
function unparsedHtml (stack: string): string {
  const text = stack.length <= MAX_STACK_TEXT
    ? stack
    : `${stack.slice(0, MAX_STACK_TEXT)}…[${stack.length - MAX_STACK_TEXT} more characters]`
  return '<p class="note">This stack does not begin with the error\'s name and message (they were changed after the stack was made), ' +
    'so its frames cannot be told apart from the message: it is shown as text, and no source is read for it.</p>' +
    `<pre><span>${escapeHtml(text)}</span></pre>`
}

/** The debug page of one report: the errors with their frames, then the request, then the reference. */
export function debugPage (report: DebugReport): string {
  const first = report.errors[0]
  const headers = Object.entries(report.request.headers)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('')
  const cut = report.sourceCut
    ? '<p class="note">Source lines of further frames are left out: ' +
      `a debug page shows at most ${MAX_PAGE_SOURCE_CHARS / 1024} K characters of source.</p>`
    : ''
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${report.status} ${escapeHtml(report.name)}: ${escapeHtml(first.type)}</title><style>${STYLE}</style></head><body>` +
    `<header><p>${report.status} ${escapeHtml(report.name)} · ${escapeHtml(report.request.method)} ${escapeHtml(report.request.url)}</p>` +
    `<h1>${escapeHtml(first.type)}: ${escapeHtml(first.message)}</h1></header><main>` +
    report.errors.map(errorHtml).join('') + cut +
    `<section><h2>Request</h2><table><tr><th>method</th><td>${escapeHtml(report.request.method)}</td></tr>` +
    `<tr><th>url</th><td>${escapeHtml(report.request.url)}</td></tr>${headers}</table></section>` +
    `<p class="note">Reference: <code>${escapeHtml(report.requestId)}</code>` +
    (report.traceId === undefined ? '' : `, trace <code>${escapeHtml(report.traceId)}</code>`) +
    '. This page is shown because debug mode is on; ' +
    'never turn it on for a server the public can reach.</p></main></body></html>'
}
