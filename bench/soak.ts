/**
 * `npm run soak`: drives mixed traffic at full load against bench/soak-server.ts for a fixed time
 * and reports whether the error handling held: every response checked against the status, content
 * type and body its route must give (unexpected ones must be 0), connection errors and timeouts,
 * heap and RSS after a forced GC before the run and after each of its segments, and the server's
 * event-loop delay p99 under load. Not part of `npm test`.
 *
 * Memory is judged by its trend: the measured time runs as --segments equal parts, the memory taken
 * after a forced GC between them. The first part may still fill what the app keeps by design (the
 * plugin's bounded caches, V8's compiled code); after it, a heap that still grows is a leak. So the
 * heap is "flat" when the parts after the first added at most --flat-mb, and the whole run at most
 * --max-heap-growth-mb; either failing fails the soak. RSS gets the same verdict (flat: within 5 %
 * of its value after the first segment, as it moves by whole pages and arenas) but does not fail
 * the soak: the allocator keeps freed pages, so RSS can rise with no leak.
 *
 * The server runs in its own process (`node --expose-gc`), the load generator (autocannon) in this
 * one; both on 127.0.0.1. Flags: --duration 60 --warmup 5 --connections 16 --segments 3
 * --flat-mb 1 --max-heap-growth-mb 8. Exit status 1 when a check fails.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseOrExit } from './cli.js'
import type { SoakStats } from './soak-server.js'

// ---------------------------------------------------------------------------------------------
// autocannon (no type declarations ship with it: the part used here)

interface Request {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  onResponse?: (status: number, body: string, context: unknown, headers: Record<string, string>) => void
}
interface Options {
  url: string
  connections: number
  pipelining: number
  duration: number
  timeout: number
  requests: Request[]
}
interface Result {
  errors: number
  timeouts: number
  resets: number
  non2xx: number
  requests: { total: number, average: number }
  latency: { p50: number, p99: number, max: number }
  statusCodeStats: Record<string, { count: number }>
}
const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (options: Options) => Promise<Result>

// ---------------------------------------------------------------------------------------------
// Options

function positive (name: string, value: string | undefined, max: number): number {
  const number = Number(value)
  if (!Number.isFinite(number) || number <= 0 || number > max) throw new Error(`--${name} must be a number from 1 to ${max}, got ${String(value)}`)
  return number
}

/** The command line, checked before the server starts (bench/cli.ts: a mistake is one line, exit 2). */
function commandLine (): { duration: number, warmup: number, connections: number, segments: number, flat: number, maxHeapGrowth: number } {
  const { values: flags } = parseArgs({
    options: {
      duration: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '5' },
      connections: { type: 'string', default: '16' },
      segments: { type: 'string', default: '3' },
      'flat-mb': { type: 'string', default: '1' },
      'max-heap-growth-mb': { type: 'string', default: '8' }
    },
    strict: true
  })
  const duration = positive('duration', flags.duration, 3600)
  const segments = positive('segments', flags.segments, 60)
  if (!Number.isInteger(segments) || segments < 2) throw new Error(`--segments must be a whole number from 2 to 60 (the trend needs a part after the first), got ${String(flags.segments)}`)
  if (duration / segments < 1) throw new Error(`--duration ${duration} is too short for ${segments} segments of at least 1 s each`)
  return {
    duration,
    warmup: positive('warmup', flags.warmup, 600),
    connections: positive('connections', flags.connections, 512),
    segments,
    flat: positive('flat-mb', flags['flat-mb'], 4096) * 1024 * 1024,
    maxHeapGrowth: positive('max-heap-growth-mb', flags['max-heap-growth-mb'], 4096) * 1024 * 1024
  }
}

const settings = parseOrExit(commandLine)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Compiled by `npm run build:bench`: plain JavaScript, as bench/server.ts explains. */
const SERVER = fileURLToPath(new URL('./.js/soak-server.js', import.meta.url))

// ---------------------------------------------------------------------------------------------
// The traffic: every request with what its answer must be

const JSON_TYPE = 'application/json; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'
const API = { accept: 'application/json' }
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
/** What no 5xx may ever show: the crash's message, a stack frame, a file path. */
const LEAK = /database password|\bat [\w.<>]+ \(|\/work\/|node_modules|soak-server/

interface Route {
  name: string
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  status: number
  type: string
  /** The body must match this. */
  body$: RegExp
  /** A header the answer must carry. */
  header?: [string, string]
  /**
   * Fastify answers with `Connection: close` (a body it could not parse). autocannon 8 loses its
   * place in a request list when a connection closes (the next answers are checked against the
   * wrong routes), so these run in a second autocannon instance of their own.
   */
  closes?: true
}

const ROUTES: Route[] = [
  { name: '200 ok', method: 'GET', path: '/ok', status: 200, type: JSON_TYPE, body$: /^\{"ok":true\}$/ },
  { name: '200 post', method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"a":1}', status: 200, type: JSON_TYPE, body$: /^\{"a":1\}$/ },
  { name: '410 abort json', method: 'GET', path: '/gone', headers: API, status: 410, type: JSON_TYPE, body$: /"message":"This page is gone for good\."/ },
  { name: '410 abort html', method: 'GET', path: '/gone', headers: BROWSER, status: 410, type: HTML_TYPE, body$: /<h1>Gone<\/h1>/ },
  { name: '404 routing json', method: 'GET', path: '/no/such/page', headers: API, status: 404, type: JSON_TYPE, body$: /"statusCode":404/ },
  { name: '404 routing html', method: 'GET', path: '/no/such/page', headers: BROWSER, status: 404, type: HTML_TYPE, body$: /<h1>Not Found<\/h1>/ },
  { name: '404 blog prefix', method: 'GET', path: '/blog/unknown', headers: BROWSER, status: 404, type: HTML_TYPE, body$: /^<h1>No such post<\/h1>$/ },
  { name: '405 wrong method', method: 'DELETE', path: '/ok', headers: API, status: 405, type: JSON_TYPE, body$: /"statusCode":405/, header: ['allow', 'GET, HEAD'] },
  { name: '400 API error class', method: 'GET', path: '/api/users/abc', headers: API, status: 400, type: JSON_TYPE, body$: /^\{"id":"abc","message":"user id must be a positive integer"\}$/ },
  { name: '400 validation', method: 'GET', path: '/validated?n=abc', headers: API, status: 400, type: JSON_TYPE, body$: /"code":"FST_ERR_VALIDATION"/ },
  { name: '400 bad JSON body', method: 'POST', path: '/echo', headers: { ...API, 'content-type': 'application/json' }, body: '{"a":', status: 400, type: JSON_TYPE, body$: /"code":"FST_ERR_CTP_INVALID_JSON_BODY"/, closes: true },
  { name: '429 hostile frozen error', method: 'GET', path: '/hostile', headers: API, status: 429, type: JSON_TYPE, body$: /"statusCode":429/, header: ['retry-after', '1'] },
  { name: '500 crash json', method: 'GET', path: '/crash', headers: API, status: 500, type: HTML_TYPE, body$: /^<h1>Oops, our fault<\/h1>$/ },
  { name: '500 crash html', method: 'GET', path: '/crash', headers: BROWSER, status: 500, type: HTML_TYPE, body$: /^<h1>Oops, our fault<\/h1>$/ },
  { name: '500 failing handler', method: 'GET', path: '/failing-handler', headers: BROWSER, status: 500, type: HTML_TYPE, body$: /^<h1>Oops, our fault<\/h1>$/ },
  { name: '500 async failing handler', method: 'GET', path: '/async-failing', headers: API, status: 500, type: HTML_TYPE, body$: /^<h1>Oops, our fault<\/h1>$/ },
  { name: '503 async handler', method: 'GET', path: '/busy', headers: API, status: 503, type: JSON_TYPE, body$: /^\{"busy":true\}$/, header: ['retry-after', '5'] }
]

interface Tally { count: number, unexpected: number, samples: string[] }
const tallies = new Map<string, Tally>(ROUTES.map((route) => [route.name, { count: 0, unexpected: 0, samples: [] }]))

/**
 * The autocannon request list: each request checks its own answer. Keys are left out rather than
 * set to undefined: autocannon 8 copies an undefined `body` over the previous request's when it
 * cycles, and answers end up checked against the wrong route.
 */
function requests (check: boolean, closing = false): Request[] {
  return ROUTES.filter((route) => (route.closes === true) === closing).map((route) => {
    const request: Request = { method: route.method, path: route.path }
    if (route.headers !== undefined) request.headers = route.headers
    if (route.body !== undefined) request.body = route.body
    if (check) request.onResponse = (status, body, _context, headers) => { record(route, status, body, headers) }
    return request
  })
}

function record (route: Route, status: number, body: string, headers: Record<string, string>): void {
  const tally = tallies.get(route.name) as Tally
  tally.count++
  const problems: string[] = []
  if (status !== route.status) problems.push(`status ${status}`)
  if (headers['content-type'] !== route.type) problems.push(`content-type ${String(headers['content-type'])}`)
  if (!route.body$.test(body)) problems.push(`body ${JSON.stringify(body.slice(0, 120))}`)
  if (status >= 500 && LEAK.test(body)) problems.push('internals in a 5xx body')
  if (route.header !== undefined && headers[route.header[0]] !== route.header[1]) problems.push(`${route.header[0]}: ${String(headers[route.header[0]])}`)
  if (problems.length === 0) return
  tally.unexpected++
  if (tally.samples.length < 3) tally.samples.push(problems.join(', '))
}

// ---------------------------------------------------------------------------------------------
// Server process

let server: ChildProcess | undefined

async function startServer (): Promise<string> {
  const child = spawn(process.execPath, ['--expose-gc', SERVER], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
  server = child
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err = (err + chunk).slice(-8000) })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the soak server did not start within 60 s\n${err}`)) }, 60_000)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /SOAK_READY (\d+)/.exec(out)
      if (match !== null) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${match[1]}`)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the soak server exited (${code ?? signal}) ${out === '' ? 'before it was ready' : 'during the run'}\n${err.trim()}`))
    })
  })
}

function stopServer (): void {
  if (server !== undefined && server.exitCode === null && server.signalCode === null) server.kill('SIGTERM')
}

async function soakEndpoint (url: string, path: string, method: 'GET' | 'POST'): Promise<SoakStats> {
  const res = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(30_000) })
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return await res.json() as SoakStats
}

// ---------------------------------------------------------------------------------------------
// Run

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** Memory after GC is flat when the segments after the first added at most `limit` bytes. */
function trend (samples: readonly number[], limit: number): { flat: boolean, late: number, text: string } {
  const late = samples[samples.length - 1] - samples[1]
  const flat = late <= limit
  return { flat, late, text: `${samples.map(mb).join(' → ')}: ${flat ? 'flat' : 'NOT flat'} (after the first segment ${late >= 0 ? '+' : ''}${mb(late)}; flat: at most +${mb(limit)})` }
}

/** One segment of load: the keep-alive mix and the requests Fastify closes the connection after, at once. */
async function segment (base: { url: string, connections: number, pipelining: number, timeout: number }, seconds: number): Promise<[Result, Result]> {
  return await Promise.all([
    autocannon({ ...base, duration: seconds, requests: requests(true) }),
    autocannon({ ...base, connections: 2, duration: seconds, requests: requests(true, true) })
  ])
}

async function main (): Promise<void> {
  process.once('SIGINT', () => { stopServer(); process.exit(130) })
  const url = await startServer()
  const base = { url, connections: settings.connections, pipelining: 1, timeout: 10 }
  const seconds = settings.duration / settings.segments
  console.log(`soak: ${ROUTES.length} request kinds, ${settings.connections} connections, ${settings.warmup} s warm-up, ${settings.duration} s measured in ${settings.segments} segments (memory after GC between them), server pid ${String(server?.pid)} on ${url}`)

  await autocannon({ ...base, duration: settings.warmup, requests: requests(false) })
  const before = await soakEndpoint(url, '/__soak/gc', 'POST')
  await soakEndpoint(url, '/__soak/reset', 'POST')

  const runs: Result[] = []
  const closingRuns: Result[] = []
  const memory: SoakStats[] = [before]
  for (let i = 0; i < settings.segments; i++) {
    const [result, closing] = await segment(base, seconds)
    runs.push(result)
    closingRuns.push(closing)
    // The server pauses its event-loop histogram while it collects: it holds the delay of the
    // traffic only, over every segment.
    const sample = await soakEndpoint(url, '/__soak/gc', 'POST')
    memory.push(sample)
    console.log(`segment ${i + 1}/${settings.segments}: ${result.requests.total + closing.requests.total} requests, heap after GC ${mb(sample.heapUsed)}, RSS ${mb(sample.rss)}`)
  }
  const after = memory[memory.length - 1]
  const loaded = after
  stopServer()

  let checked = 0
  let unexpected = 0
  console.log('\nroute                        responses   unexpected')
  for (const route of ROUTES) {
    const tally = tallies.get(route.name) as Tally
    checked += tally.count
    unexpected += tally.unexpected
    console.log(`${route.name.padEnd(28)} ${String(tally.count).padStart(10)} ${String(tally.unexpected).padStart(12)}${tally.samples.length > 0 ? `   e.g. ${tally.samples.join(' | ')}` : ''}`)
  }
  const growth = after.heapUsed - before.heapUsed
  const heap = trend(memory.map((m) => m.heapUsed), settings.flat)
  // RSS moves by whole pages and allocator arenas: flat within 5 % of what it was after the first segment.
  const rss = trend(memory.map((m) => m.rss), Math.max(settings.flat, 0.05 * memory[1].rss))
  const counts = new Map<string, number>()
  for (const run of [...runs, ...closingRuns]) for (const [code, { count }] of Object.entries(run.statusCodeStats)) counts.set(code, (counts.get(code) ?? 0) + count)
  const statuses = [...counts].sort().map(([code, count]) => `${code}: ${count}`).join(', ')
  const sum = (list: Result[], pick: (r: Result) => number): number => list.reduce((total, r) => total + pick(r), 0)
  const total = sum(runs, (r) => r.requests.total)
  const closed = sum(closingRuns, (r) => r.requests.total)
  const errors = sum(runs, (r) => r.errors) + sum(closingRuns, (r) => r.errors)
  const timeouts = sum(runs, (r) => r.timeouts) + sum(closingRuns, (r) => r.timeouts)
  const worst = (pick: (r: Result) => number): number => Math.max(...runs.map(pick))
  console.log(`
requests served           ${total + closed} (${Math.round((total + closed) / settings.duration)} req/s average; ${closed} of them on connections Fastify closed)
responses checked         ${checked}
unexpected responses      ${unexpected}
statuses                  ${statuses}
connection errors         ${errors} (timeouts ${timeouts})
latency                   p50 ${worst((r) => r.latency.p50)} ms, p99 ${worst((r) => r.latency.p99)} ms, max ${worst((r) => r.latency.max)} ms (the worst segment's)
event-loop delay (server) p50 ${loaded.eventLoop.p50} ms, p99 ${loaded.eventLoop.p99} ms, max ${loaded.eventLoop.max} ms over ${loaded.eventLoop.count} samples
heap used after GC        ${heap.text}; whole run ${growth >= 0 ? '+' : ''}${mb(growth)} (limit ${mb(settings.maxHeapGrowth)})
RSS after GC              ${rss.text}${rss.flat ? '' : ' — shown, not failed: the allocator keeps freed pages'}
reports delivered         ${after.reports - before.reports} (deduplicated: one per distinct error, then one summary per 1 s window)`)

  const failures = [
    unexpected > 0 ? `${unexpected} unexpected responses` : '',
    checked === 0 ? 'no response was checked' : '',
    errors > 0 ? `${errors} connection errors` : '',
    timeouts > 0 ? `${timeouts} timeouts` : '',
    growth > settings.maxHeapGrowth ? `heap grew by ${mb(growth)}` : '',
    heap.flat ? '' : `heap not flat: +${mb(heap.late)} after the first segment`
  ].filter((failure) => failure !== '')
  console.log(failures.length === 0 ? '\nsoak: PASS' : `\nsoak: FAIL (${failures.join('; ')})`)
  process.exitCode = failures.length === 0 ? 0 : 1
}

main().catch((error: unknown) => {
  stopServer()
  console.error(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exit(1)
})
