/**
 * The benchmark scenarios: each builds one Fastify app (run in its own server process by
 * `bench/server.ts`) and says which request to load it with and what a correct answer looks like.
 *
 * References are plain Fastify, written the way a Fastify user would without the plugin; plugin
 * scenarios answer the same requests through fastify-flask-errors. Ratios compare them (bench/run.ts).
 */
import { STATUS_CODES } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'

/** The request autocannon sends, and the one the validation step sends first. */
export interface BenchRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
}

/** One response, as the validation step sees it. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

/** Build context handed to each scenario by the server process. */
export interface BuildContext {
  /** Body and headers of the plugin's built-in 410 page (for the constant-bytes reference). */
  readonly htmlPage: CapturedPage | undefined
  /** The folder of the bench's ejs templates (bench/views), given by bench/run.ts. */
  readonly views: string
}

/** A response captured from the plugin, replayed as constant bytes by the reference. */
export interface CapturedPage {
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

/** One benchmark scenario. */
export interface Scenario {
  readonly name: string
  readonly title: string
  /** Needs the plugin (`../index.ts`). */
  readonly plugin: boolean
  readonly request: BenchRequest
  /**
   * Replays the plugin's built-in 410 page as constant bytes (`BuildContext.htmlPage`): the runners
   * ask a plugin-html server for it first and hand it over in BENCH_HTML_PAGE.
   */
  readonly replaysPage?: true
  /** The only status every response must have. */
  readonly status: number
  /** Returns what is wrong with a validation answer, or undefined when it is right. */
  readonly check: (answer: Answer) => string | undefined
  readonly build: (context: BuildContext) => Promise<FastifyInstance>
  /**
   * Set on the copies a cross-build A/B makes (bench/ab.ts `--before`): the scenario the server
   * builds, and the folder of the other build of the package it loads instead of this checkout's.
   */
  readonly variantOf?: { readonly scenario: string, readonly packageDir: string }
}

/** A Chrome navigation `Accept`: what a browser sends for a page. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const JSON_HEADERS = { accept: 'application/json' }
const HTML_HEADERS = { accept: BROWSER_ACCEPT }

/** Same text as the plugin's `Gone.description`, so reference and plugin send comparable bodies. */
const GONE_TEXT = 'This resource is gone and will not come back.'
const TEMPLATE = 'errors/410.ejs'
/**
 * Every @fastify/view app of the bench renders its pages inside this layout (the view plugin's
 * `layout` option), and errors/410.ejs includes a partial: the shape of an app's real pages.
 */
const LAYOUT = 'layout.ejs'
/** Only bench/views/partials/footer.ejs prints this: proof the template, not the built-in page, answered. */
const TEMPLATE_MARK = 'data-bench-template'
/** Only bench/views/layout.ejs prints the title: proof the page was rendered inside the layout. */
const LAYOUT_MARK = '<title>410 Gone</title>'

/** Headers of the plugin's page that the constant reference replays (not framing or per-response ones). */
const REPLAYED_HEADERS = ['content-type', 'content-security-policy', 'x-content-type-options', 'vary', 'cache-control']

/**
 * The page the constant-HTML reference (c) replays, from plugin-html's validated answer: its body and
 * the headers that shape it, so the reference sends the same bytes.
 */
export function capturedPage (answer: Answer): CapturedPage {
  const problem = scenarioNamed('plugin-html').check(answer)
  if (problem !== undefined) throw new Error(`plugin-html: cannot capture the built-in page: ${problem}`)
  const headers: Record<string, string> = {}
  for (const name of REPLAYED_HEADERS) {
    const value = answer.headers.get(name)
    if (value !== null) headers[name] = value
  }
  return { body: answer.body, headers }
}

/** Placeholder for the built-in page until the plugin can be asked for its bytes. */
const PLACEHOLDER_PAGE: CapturedPage = {
  body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>410 Gone</title>' +
    `<style>${'body{margin:0}'.repeat(40)}</style></head><body><main><p class="status">410</p><h1>Gone</h1>` +
    `<p>${GONE_TEXT}</p><p class="ref">Reference: <code>req-1</code></p><p><a href="/">Back to the home page</a></p></main></body></html>`,
  headers: { 'content-type': 'text/html; charset=utf-8' }
}

// ---------------------------------------------------------------------------------------------
// Checks

function hasStatus (answer: Answer, status: number): string | undefined {
  return answer.status === status ? undefined : `status ${answer.status}, expected ${status}: ${answer.body.slice(0, 200)}`
}

function jsonCheck (status: number, test: (body: Record<string, unknown>) => boolean, what: string) {
  return (answer: Answer): string | undefined => {
    const wrong = hasStatus(answer, status)
    if (wrong !== undefined) return wrong
    if (!(answer.headers.get('content-type') ?? '').startsWith('application/json')) return `content-type ${answer.headers.get('content-type')}, expected JSON`
    let body: unknown
    try {
      body = JSON.parse(answer.body)
    } catch {
      return `body is not JSON: ${answer.body.slice(0, 200)}`
    }
    if (body === null || typeof body !== 'object' || !test(body as Record<string, unknown>)) return `body ${answer.body.slice(0, 200)} is not ${what}`
    return undefined
  }
}

function htmlCheck (status: number, ...needles: string[]) {
  return (answer: Answer): string | undefined => {
    const wrong = hasStatus(answer, status)
    if (wrong !== undefined) return wrong
    if (!(answer.headers.get('content-type') ?? '').startsWith('text/html')) return `content-type ${answer.headers.get('content-type')}, expected HTML`
    for (const needle of needles) {
      if (!answer.body.includes(needle)) return `HTML body lacks ${JSON.stringify(needle)}: ${answer.body.slice(0, 200)}`
    }
    return undefined
  }
}

function allowCheck (allow: string, inner: (answer: Answer) => string | undefined) {
  return (answer: Answer): string | undefined => {
    const got = answer.headers.get('allow')
    if (got === null) return 'no Allow header on the 405'
    const set = (value: string): string => value.split(',').map((m) => m.trim()).sort().join(', ')
    if (set(got) !== set(allow)) return `Allow "${got}", expected "${allow}"`
    return inner(answer)
  }
}

const okCheck = jsonCheck(200, (b) => b.ok === true, '{ ok: true }')
/** The 410 route every error scenario serves, asked for by an API client and by a browser. */
const GONE_API: BenchRequest = { method: 'GET', path: '/gone', headers: JSON_HEADERS }
const GONE_BROWSER: BenchRequest = { method: 'GET', path: '/gone', headers: HTML_HEADERS }
/** The template's page for /gone (its mark proves the template, not the built-in page, answered). */
const goneTemplatePage = htmlCheck(410, LAYOUT_MARK, GONE_TEXT, TEMPLATE_MARK, 'You asked for <code>/gone</code>')
const goneJson = jsonCheck(410, (b) => b.statusCode === 410 && b.error === 'Gone' && typeof b.message === 'string', "Fastify's 410 shape")
const notFoundJson = jsonCheck(404, (b) => b.statusCode === 404 && b.error === 'Not Found', "Fastify's 404 shape")
const methodJson = jsonCheck(405, (b) => b.statusCode === 405 && b.error === 'Method Not Allowed', "Fastify's 405 shape")
const unprocessableJson = jsonCheck(422, (b) => b.handled === true && typeof b.kind === 'string', 'the handler object')

// ---------------------------------------------------------------------------------------------
// Apps

function app (): FastifyInstance {
  return Fastify({ logger: false })
}

function addOk (fastify: FastifyInstance): void {
  fastify.get('/ok', async () => ({ ok: true }))
}

async function addView (fastify: FastifyInstance, views: string): Promise<void> {
  const [{ default: view }, { default: ejs }] = await Promise.all([import('@fastify/view'), import('ejs')])
  // production: pages and the layout compiled once; ejs `cache: true`: the included partials too
  // (without it @fastify/view's production mode still reads and compiles every include per render).
  await fastify.register(view, { engine: { ejs }, root: views, layout: LAYOUT, production: true, options: { cache: true } })
}

/**
 * Loads the plugin lazily, so reference servers never load its code. It is the built package
 * (`npm run bench` builds it first), imported by its own name as an application would: the source
 * run through tsx would measure tsx's helpers too (its `__name` wrapper runs for every closure made).
 */
export async function loadPlugin (): Promise<typeof import('fastify-flask-errors')> {
  // A cross-build A/B (`npm run bench:ab -- --before <ref>`) runs some servers on another build of
  // the package, unpacked and built in BENCH_PACKAGE; the scenario's app is this checkout's either way.
  const other = process.env.BENCH_PACKAGE
  if (other !== undefined && other !== '') {
    return await import(pathToFileURL(join(other, 'dist', 'esm', 'index.js')).href) as typeof import('fastify-flask-errors')
  }
  return await import('fastify-flask-errors')
}

/** The plugin's options, as `register` takes them. */
type PluginOptions = Parameters<typeof import('fastify-flask-errors')['default']>[1]

async function withPlugin (options: PluginOptions = {}): Promise<FastifyInstance> {
  const plugin = await loadPlugin()
  const fastify = app()
  await fastify.register(plugin.default, options)
  return fastify
}

/**
 * The plugin with OpenTelemetry switched off (`openTelemetry: false`), for the scenarios that
 * measure what an installed `@opentelemetry/api` costs with no span active (the plugin's default
 * when the API is installed, which it is here). Refuses to start without the API, where both sides
 * would be the same app.
 */
async function withPluginTracingOff (): Promise<FastifyInstance> {
  try {
    // Resolved, not imported: this server must not load the API the plugin is told to leave alone.
    createRequire(import.meta.url).resolve('@opentelemetry/api')
  } catch (missing) {
    throw new Error('the openTelemetry comparison needs @opentelemetry/api installed (a devDependency of this package)', { cause: missing })
  }
  return await withPlugin({ openTelemetry: false })
}

/** The error the floor scenarios (f), (g) and (j) throw: a plain app's own 410, the floor under the plugin's error responses. */
class StacklessGone extends Error {
  readonly statusCode = 410
}

/** A route handler throwing a `StacklessGone` made with no stack (the stack limit lowered around it). */
function throwStacklessGone (): never {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  const error = new StacklessGone(GONE_TEXT)
  Error.stackTraceLimit = limit
  throw error
}

/**
 * Throws a `StacklessGone` and catches it in the same handler: the cost of one throw (and the
 * construction) with nothing of Fastify's error path. Scenarios (h) and (i) send after it.
 */
function caughtStacklessGone (): StacklessGone {
  try {
    return throwStacklessGone()
  } catch (caught) {
    return caught as StacklessGone
  }
}

/** The same 410 without a throw: an `HTTPException` handed to `reply.send`, Fastify's error path. */
function addSendRoute (fastify: FastifyInstance, plugin: typeof import('fastify-flask-errors')): void {
  fastify.get('/gone', (request, reply) => { reply.send(new plugin.Gone()) })
}

/**
 * The data the plain routes render the template with: what the plugin passes it for this 410
 * (`error` is the thrown one on the error routes, null on the 200).
 */
function goneContext (request: FastifyRequest, error: Error | null): Record<string, unknown> {
  const query = request.url.indexOf('?')
  return {
    error,
    status: 410,
    name: STATUS_CODES[410],
    description: GONE_TEXT,
    path: query === -1 ? request.url : request.url.slice(0, query),
    requestId: request.id,
    debug: false
  }
}

/** An app with @fastify/view (registered first, as an app would) and the plugin. */
async function withViewAndPlugin (views: string): Promise<{ fastify: FastifyInstance, plugin: typeof import('fastify-flask-errors') }> {
  const plugin = await loadPlugin()
  const fastify = app()
  await addView(fastify, views)
  await fastify.register(plugin.default)
  return { fastify, plugin }
}

function addAbortRoute (fastify: FastifyInstance): void {
  fastify.get('/gone', (request, reply) => reply.abort(410))
}

/** Routes for the growth scenarios: half GET with a parameter, half POST, under distinct prefixes. */
function addManyRoutes (fastify: FastifyInstance, count: number): void {
  const handler = async (): Promise<{ ok: boolean }> => ({ ok: true })
  for (let i = 0; i < count / 2; i++) {
    fastify.get(`/items${i}/:id`, handler)
    fastify.post(`/items${i}/:id`, handler)
  }
}

/** Error classes for the dispatch growth scenario, one handler each. */
async function withErrorClasses (count: number): Promise<{ fastify: FastifyInstance, Last: new () => Error }> {
  const plugin = await loadPlugin()
  const fastify = await withPlugin()
  let Last: (new () => Error) | undefined
  for (let i = 0; i < count; i++) {
    const AppError = class extends plugin.UnprocessableEntity {}
    Object.defineProperty(AppError, 'name', { value: `AppError${i}` })
    const kind = AppError.name
    fastify.errorhandler(AppError)(() => ({ handled: true, kind }))
    Last = AppError
  }
  if (Last === undefined) throw new Error('withErrorClasses needs at least one class')
  return { fastify, Last }
}

// ---------------------------------------------------------------------------------------------
// The scenarios

const GROWTH_SMALL = 10
const GROWTH_LARGE = 10_000
const DISPATCH_LARGE = 1_000

function growth404 (count: number): Scenario {
  return {
    name: `growth-404-${count}`,
    title: `plugin routing 404, ${count} routes`,
    plugin: true,
    request: { method: 'GET', path: `/items${count / 2 - 1}/42/missing`, headers: JSON_HEADERS },
    status: 404,
    check: notFoundJson,
    build: async () => {
      const fastify = await withPlugin()
      addManyRoutes(fastify, count)
      return fastify
    }
  }
}

function growth405 (count: number): Scenario {
  return {
    name: `growth-405-${count}`,
    title: `plugin 405 + Allow, ${count} routes`,
    plugin: true,
    request: { method: 'DELETE', path: `/items${count / 2 - 1}/42`, headers: JSON_HEADERS },
    status: 405,
    check: allowCheck('GET, HEAD, POST', methodJson),
    build: async () => {
      const fastify = await withPlugin()
      addManyRoutes(fastify, count)
      return fastify
    }
  }
}

function dispatch (count: number): Scenario {
  return {
    name: `dispatch-${count}`,
    title: `plugin dispatch, ${count} registered error class${count === 1 ? '' : 'es'}`,
    plugin: true,
    request: { method: 'GET', path: '/fail', headers: JSON_HEADERS },
    status: 422,
    check: unprocessableJson,
    build: async () => {
      const { fastify, Last } = await withErrorClasses(count)
      fastify.get('/fail', () => { throw new Last() })
      return fastify
    }
  }
}

/** Every scenario, in the order they run within a round (each plugin scenario next to its reference). */
export const scenarios: readonly Scenario[] = [
  {
    name: 'ref-ok',
    title: '(a) plain GET /ok 200 JSON',
    plugin: false,
    request: { method: 'GET', path: '/ok', headers: JSON_HEADERS },
    status: 200,
    check: okCheck,
    build: async () => {
      const fastify = app()
      addOk(fastify)
      return fastify
    }
  },
  {
    name: 'plugin-ok',
    title: 'GET /ok 200 with the plugin registered',
    plugin: true,
    request: { method: 'GET', path: '/ok', headers: JSON_HEADERS },
    status: 200,
    check: okCheck,
    build: async () => {
      const fastify = await withPlugin()
      addOk(fastify)
      return fastify
    }
  },
  {
    name: 'plugin-ok-otel-off',
    title: 'GET /ok 200 with the plugin registered with openTelemetry: false',
    plugin: true,
    request: { method: 'GET', path: '/ok', headers: JSON_HEADERS },
    status: 200,
    check: okCheck,
    build: async () => {
      const fastify = await withPluginTracingOff()
      addOk(fastify)
      return fastify
    }
  },
  {
    name: 'ref-410-json',
    title: '(b) plain reply.code(410).send(json)',
    plugin: false,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const fastify = app()
      fastify.get('/gone', (request, reply) => reply.code(410).send({ statusCode: 410, error: 'Gone', message: GONE_TEXT }))
      return fastify
    }
  },
  {
    name: 'abort-json',
    title: 'reply.abort(410) → default JSON',
    plugin: true,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const fastify = await withPlugin()
      addAbortRoute(fastify)
      return fastify
    }
  },
  {
    name: 'abort-handler',
    title: 'reply.abort(410) + errorhandler(410) returning an object',
    plugin: true,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const fastify = await withPlugin()
      fastify.errorhandler(410)((error) => ({ statusCode: 410, error: 'Gone', message: error.message }))
      addAbortRoute(fastify)
      return fastify
    }
  },
  {
    name: 'abort-json-otel-off',
    title: 'reply.abort(410) → default JSON, the plugin registered with openTelemetry: false',
    plugin: true,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const fastify = await withPluginTracingOff()
      addAbortRoute(fastify)
      return fastify
    }
  },
  {
    name: 'peer-sensible',
    title: 'peer: @fastify/sensible httpErrors.gone() + setErrorHandler',
    plugin: false,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const { default: sensible } = await import('@fastify/sensible')
      const fastify = app()
      await fastify.register(sensible)
      fastify.setErrorHandler<FastifyError>((error, request, reply) => {
        const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
        const message = statusCode < 500 ? error.message : 'Internal Server Error'
        return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode], message })
      })
      fastify.get('/gone', async () => { throw fastify.httpErrors.gone(GONE_TEXT) })
      return fastify
    }
  },
  {
    name: 'ref-throw-json',
    title: '(f) plain: throw a stackless Error + setErrorHandler sending json',
    plugin: false,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      // The floor under any thrown error: Fastify's error path with no stack to capture (the third
      // row of the targets' table). What the plugin adds is what it costs beyond this.
      const fastify = app()
      fastify.setErrorHandler<StacklessGone>((error, request, reply) => reply.code(error.statusCode).send({
        statusCode: error.statusCode,
        error: STATUS_CODES[error.statusCode],
        message: error.message
      }))
      fastify.get('/gone', throwStacklessGone)
      return fastify
    }
  },
  {
    name: 'ref-throw-json-bytes',
    title: '(f′) the JSON floor sending the plugin\'s bytes: requestId in the body, Vary: Accept and nosniff',
    plugin: false,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      // The JSON floor with the response the plugin sends (the same members, the same headers), so that
      // the plugin against it is the cost of its code alone, and it against the floor the cost of the bytes.
      const fastify = app()
      fastify.setErrorHandler<StacklessGone>((error, request, reply) => reply.code(error.statusCode)
        .header('x-content-type-options', 'nosniff').header('vary', 'Accept')
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ statusCode: error.statusCode, error: STATUS_CODES[error.statusCode], message: error.message, requestId: request.id })))
      fastify.get('/gone', throwStacklessGone)
      return fastify
    }
  },
  {
    name: 'ref-catch-json',
    title: '(h) plain: throw a stackless Error, catch it in the route, send json',
    plugin: false,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      // One throw and nothing else: no error path, no error handler. Whatever throws on the way to
      // an error page pays at least this much.
      const fastify = app()
      fastify.get('/gone', (request, reply) => {
        const error = caughtStacklessGone()
        return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: STATUS_CODES[error.statusCode], message: error.message })
      })
      return fastify
    }
  },
  {
    name: 'send-json',
    title: 'reply.send(new Gone()) → default JSON (no throw)',
    plugin: true,
    request: GONE_API,
    status: 410,
    check: goneJson,
    build: async () => {
      const fastify = await withPlugin()
      addSendRoute(fastify, await loadPlugin())
      return fastify
    }
  },
  {
    name: 'ref-410-html',
    title: "(c) plain reply.code(410).send(the plugin's page bytes)",
    plugin: false,
    request: GONE_BROWSER,
    replaysPage: true,
    status: 410,
    check: htmlCheck(410, '410', 'Gone'),
    build: async ({ htmlPage }) => {
      const page = htmlPage ?? PLACEHOLDER_PAGE
      const fastify = app()
      fastify.get('/gone', (request, reply) => reply.code(410).headers(page.headers).send(page.body))
      return fastify
    }
  },
  {
    name: 'ref-throw-html',
    title: "(j) plain: throw a stackless Error + setErrorHandler sending the plugin's page bytes",
    plugin: false,
    request: GONE_BROWSER,
    replaysPage: true,
    status: 410,
    check: htmlCheck(410, '410', 'Gone'),
    build: async ({ htmlPage }) => {
      // The floor under the built-in page: the same bytes as (c), reached the way the plugin's page
      // is, through a throw and Fastify's error path. What the plugin adds is the page's making.
      const page = htmlPage ?? PLACEHOLDER_PAGE
      const fastify = app()
      fastify.setErrorHandler<StacklessGone>((error, request, reply) => reply.code(error.statusCode).headers(page.headers).send(page.body))
      fastify.get('/gone', throwStacklessGone)
      return fastify
    }
  },
  {
    name: 'plugin-html',
    title: 'reply.abort(410) → built-in HTML page',
    plugin: true,
    request: GONE_BROWSER,
    status: 410,
    check: htmlCheck(410, '410', 'Gone'),
    build: async () => {
      const fastify = await withPlugin()
      addAbortRoute(fastify)
      return fastify
    }
  },
  {
    name: 'send-html',
    title: 'reply.send(new Gone()) → built-in HTML page (no throw)',
    plugin: true,
    request: GONE_BROWSER,
    status: 410,
    check: htmlCheck(410, '410', 'Gone'),
    build: async () => {
      const fastify = await withPlugin()
      addSendRoute(fastify, await loadPlugin())
      return fastify
    }
  },
  {
    name: 'ref-view-200',
    title: `(d) plain 200 rendered from ${TEMPLATE} in the layout by @fastify/view`,
    plugin: false,
    request: { method: 'GET', path: '/page', headers: HTML_HEADERS },
    status: 200,
    check: htmlCheck(200, LAYOUT_MARK, GONE_TEXT, TEMPLATE_MARK, 'You asked for <code>/page</code>'),
    build: async ({ views }) => {
      const fastify = app()
      await addView(fastify, views)
      fastify.get('/page', (request, reply) => reply.view(TEMPLATE, goneContext(request, null)))
      return fastify
    }
  },
  {
    name: 'ref-throw-view',
    title: `(g) plain: throw a stackless Error + setErrorHandler rendering ${TEMPLATE}`,
    plugin: false,
    request: GONE_BROWSER,
    status: 410,
    check: goneTemplatePage,
    build: async ({ views }) => {
      // The floor under a template error page: the hand-written version of the plugin's template
      // path (the template target, without the stack). What the plugin adds is what it costs beyond this.
      const fastify = app()
      await addView(fastify, views)
      fastify.setErrorHandler<StacklessGone>((error, request, reply) => reply.code(error.statusCode).view(TEMPLATE, goneContext(request, error)))
      fastify.get('/gone', throwStacklessGone)
      return fastify
    }
  },
  {
    name: 'peer-sensible-view',
    title: `peer: @fastify/sensible httpErrors.gone() + setErrorHandler + reply.view of ${TEMPLATE}`,
    plugin: false,
    request: GONE_BROWSER,
    status: 410,
    check: goneTemplatePage,
    build: async ({ views }) => {
      // What an app writes by hand for template error pages without the plugin: sensible's errors
      // (http-errors, with a stack), one setErrorHandler that picks the status, hides a 5xx message
      // and renders the page with the same data and layout as the plugin's.
      const { default: sensible } = await import('@fastify/sensible')
      const fastify = app()
      await fastify.register(sensible)
      await addView(fastify, views)
      fastify.setErrorHandler<FastifyError>((error, request, reply) => {
        const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
        const description = statusCode < 500 ? error.message : 'Internal Server Error'
        return reply.code(statusCode).view(TEMPLATE, { ...goneContext(request, error), status: statusCode, name: STATUS_CODES[statusCode], description })
      })
      fastify.get('/gone', async () => { throw fastify.httpErrors.gone(GONE_TEXT) })
      return fastify
    }
  },
  {
    name: 'ref-catch-view',
    title: `(i) plain: throw a stackless Error, catch it in the route, render ${TEMPLATE}`,
    plugin: false,
    request: GONE_BROWSER,
    status: 410,
    check: goneTemplatePage,
    build: async ({ views }) => {
      const fastify = app()
      await addView(fastify, views)
      fastify.get('/gone', (request, reply) => {
        const error = caughtStacklessGone()
        return reply.code(error.statusCode).view(TEMPLATE, goneContext(request, error))
      })
      return fastify
    }
  },
  {
    name: 'send-template',
    title: `reply.send(new Gone()) → ${TEMPLATE} (no throw)`,
    plugin: true,
    request: GONE_BROWSER,
    status: 410,
    check: goneTemplatePage,
    build: async ({ views }) => {
      const { fastify, plugin } = await withViewAndPlugin(views)
      addSendRoute(fastify, plugin)
      return fastify
    }
  },
  {
    name: 'plugin-template',
    title: `reply.abort(410) → ${TEMPLATE} in the layout, found by convention, via @fastify/view`,
    plugin: true,
    request: GONE_BROWSER,
    status: 410,
    check: goneTemplatePage,
    build: async ({ views }) => {
      const { fastify } = await withViewAndPlugin(views)
      addAbortRoute(fastify)
      return fastify
    }
  },
  {
    name: 'ref-404',
    title: '(e) plain custom setNotFoundHandler 404 JSON',
    plugin: false,
    request: { method: 'GET', path: '/missing/page', headers: JSON_HEADERS },
    status: 404,
    check: notFoundJson,
    build: async () => {
      const fastify = app()
      addOk(fastify)
      fastify.setNotFoundHandler((request, reply) => reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message: `Route ${request.method}:${request.url} not found`
      }))
      return fastify
    }
  },
  {
    name: 'ref-404-bytes',
    title: '(e′) the custom setNotFoundHandler sending the plugin\'s 404 bytes: its message, requestId, Vary and nosniff',
    plugin: false,
    request: { method: 'GET', path: '/missing/page', headers: JSON_HEADERS },
    status: 404,
    check: notFoundJson,
    build: async () => {
      const fastify = app()
      addOk(fastify)
      fastify.setNotFoundHandler((request, reply) => reply.code(404)
        .header('x-content-type-options', 'nosniff').header('vary', 'Accept')
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'Nothing was found at this address.', requestId: request.id })))
      return fastify
    }
  },
  {
    name: 'plugin-404',
    title: 'plugin routing 404 (default JSON)',
    plugin: true,
    request: { method: 'GET', path: '/missing/page', headers: JSON_HEADERS },
    status: 404,
    check: notFoundJson,
    build: async () => {
      const fastify = await withPlugin()
      addOk(fastify)
      return fastify
    }
  },
  {
    name: 'plugin-405',
    title: 'plugin 405 + Allow (DELETE /ok)',
    plugin: true,
    request: { method: 'DELETE', path: '/ok', headers: JSON_HEADERS },
    status: 405,
    check: allowCheck('GET, HEAD', methodJson),
    build: async () => {
      const fastify = await withPlugin()
      addOk(fastify)
      return fastify
    }
  },
  growth404(GROWTH_SMALL),
  growth404(GROWTH_LARGE),
  growth405(GROWTH_SMALL),
  growth405(GROWTH_LARGE),
  dispatch(1),
  dispatch(DISPATCH_LARGE)
]

/**
 * What a row of the verdicts is: a performance target (the ratios the plugin promises), a guard (a
 * bound on how a cost grows with the app, kept from the first performance work so it cannot regress
 * unseen), or context (a ratio that explains the others; no verdict).
 */
export type TargetKind = 'target' | 'guard' | 'context'

/** A ratio: `numerator` req/s divided by `denominator` req/s, which must be at least `min` (none for context). */
export interface Target {
  readonly numerator: string
  readonly denominator: string
  readonly min: number | undefined
  readonly label: string
  readonly kind: TargetKind
}

function target (numerator: string, denominator: string, min: number, label: string): Target {
  return { numerator, denominator, min, label, kind: 'target' }
}
function guard (numerator: string, denominator: string, min: number, label: string): Target {
  return { numerator, denominator, min, label, kind: 'guard' }
}
function context (numerator: string, denominator: string, label: string): Target {
  return { numerator, denominator, min: undefined, label, kind: 'context' }
}

/**
 * Every ratio `npm run bench` reports. The targets compare the plugin with the floor under it (the
 * same response reached through a stackless throw and a bare `setErrorHandler`, so the cost of the
 * throw itself, which no error page can avoid, is on both sides), with the hand-rolled peer, or with
 * plain Fastify where no throw is involved (routing misses, the success route).
 */
export const targets: readonly Target[] = [
  target('abort-json', 'ref-throw-json', 0.95, 'reply.abort(410) → default JSON vs the floor (stackless throw, bare setErrorHandler sending the JSON)'),
  target('abort-handler', 'ref-throw-json', 0.93, 'the same with an errorhandler(410) returning an object, vs the same floor'),
  target('plugin-html', 'ref-throw-html', 0.95, "built-in HTML page vs the floor (stackless throw, bare handler sending the page's bytes as a constant)"),
  target('plugin-template', 'ref-throw-view', 0.95, 'template page (errors/410.ejs in a layout, with an include) vs the floor (stackless throw, bare handler calling reply.view with the same data)'),
  target('plugin-template', 'peer-sensible-view', 1.15, 'template page vs the hand-rolled peer (@fastify/sensible + setErrorHandler + reply.view)'),
  target('abort-json', 'peer-sensible', 2.4, 'reply.abort(410) → default JSON vs @fastify/sensible + setErrorHandler'),
  target('plugin-404', 'ref-404', 0.95, 'routing 404 vs a custom setNotFoundHandler'),
  target('plugin-405', 'ref-404', 0.90, 'routing 405 + Allow vs a custom setNotFoundHandler'),
  target('plugin-ok', 'ref-ok', 0.98, 'success route with the plugin vs without'),
  guard('growth-404-10000', 'growth-404-10', 1 / 1.2, 'routing 404: 10,000 routes vs 10 (cost ≤ 1.2×)'),
  guard('growth-405-10000', 'growth-405-10', 1 / 1.2, '405: 10,000 routes vs 10 (cost ≤ 1.2×)'),
  guard('dispatch-1000', 'dispatch-1', 1 / 1.1, 'dispatch: 1,000 error classes vs 1 (cost ≤ 1.1×)'),
  context('plugin-ok', 'plugin-ok-otel-off', 'success route, @opentelemetry/api installed and no span active (the default), vs openTelemetry: false'),
  context('abort-json', 'abort-json-otel-off', 'reply.abort(410) → default JSON, @opentelemetry/api installed and no span active, vs openTelemetry: false'),
  context('abort-json', 'ref-throw-json-bytes', 'reply.abort(410) → default JSON vs the JSON floor sending the same bytes: the cost of the plugin\'s code'),
  context('ref-throw-json-bytes', 'ref-throw-json', 'the JSON floor sending the plugin\'s bytes vs the floor: the cost of requestId, Vary and nosniff'),
  context('plugin-404', 'ref-404-bytes', 'routing 404 vs a custom setNotFoundHandler sending the same bytes: the cost of the plugin\'s code'),
  context('ref-404-bytes', 'ref-404', 'a custom setNotFoundHandler sending the plugin\'s 404 bytes vs the custom one: the cost of the bytes'),
  context('ref-throw-json', 'ref-410-json', 'the JSON floor vs plain reply.code(410).send(json): what the throw costs'),
  context('ref-catch-json', 'ref-410-json', 'a stackless throw caught in the route, no error path, vs plain send'),
  context('abort-json', 'ref-410-json', 'reply.abort(410) → default JSON vs plain send, no throw'),
  context('send-json', 'ref-throw-json', 'reply.send(new Gone()) → default JSON, no throw, vs the JSON floor'),
  context('ref-throw-html', 'ref-410-html', 'the page floor vs the same bytes sent without a throw'),
  context('plugin-html', 'ref-410-html', 'built-in page vs the same bytes sent without a throw'),
  context('send-html', 'ref-throw-html', 'reply.send(new Gone()) → built-in page, no throw, vs the page floor'),
  context('ref-throw-view', 'ref-view-200', 'the template floor vs the same template rendered on a 200'),
  context('peer-sensible-view', 'ref-throw-view', 'the template peer vs the template floor'),
  context('ref-catch-view', 'ref-view-200', 'a stackless throw caught in the route, then the template, vs the 200'),
  context('send-template', 'ref-throw-view', 'reply.send(new Gone()) → template page, no throw, vs the template floor')
]

/** The scenario called `name`, or a clear error listing the names there are. */
export function scenarioNamed (name: string): Scenario {
  const found = scenarios.find((s) => s.name === name)
  if (found === undefined) throw new Error(`unknown scenario "${name}"; there are: ${scenarios.map((s) => s.name).join(', ')}`)
  return found
}
