/**
 * OpenTelemetry with the real SDK and no instrumentation plugin: the request's span is the active one,
 * as an HTTP server instrumentation makes it (a SERVER span, active while Fastify handles the request).
 * The plugin records what it decided on that span — a 5xx is ERROR with one exception event of the
 * original error, a 4xx leaves the status unset, every error response sets `error.type` and
 * `http.response.status_code` — and shows the trace id wherever the request id is shown.
 */
import t from 'tap'
import type { Test } from 'tap'
import { SpanKind, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api'
import type { Span } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import view from '@fastify/view'
import ejs from 'ejs'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { abort } from '../index.js'
import type { ErrorReport, FlaskErrorsOptions } from '../index.js'
import { build, API, BROWSER, LEVEL, within } from './helpers.js'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
// The app's tracer; the global provider stays unset, so the API answers with its no-op tracer elsewhere.
const tracer = provider.getTracer('http-server')

/** What a test reads of a response. */
interface Answer { statusCode: number, headers: Headers, body: string, json: () => Record<string, unknown> }

/** How the server makes a request's span: by default a recording SERVER span of the SDK. */
type SpanMaker = () => Span | undefined
const serverSpan: SpanMaker = () => tracer.startSpan('GET', { kind: SpanKind.SERVER })

/**
 * Fastify's server, made the way an HTTP server instrumentation (@opentelemetry/instrumentation-http)
 * makes it: each request gets a span, active while Fastify handles it, ended when the response is
 * finished. (`app.inject` bypasses the server, and its requests do not run in the caller's context,
 * so these tests talk to a real socket.)
 */
function instrumentedServer (spans: Span[], make: SpanMaker): FastifyServerOptions {
  return {
    serverFactory: (handler) => createServer((req, res) => {
      const span = make()
      if (span === undefined) {
        handler(req, res)
        return
      }
      spans.push(span)
      res.once('finish', () => { span.end() })
      context.with(trace.setSpan(context.active(), span), () => { handler(req, res) })
    })
  }
}

function finished (span: Span): ReadableSpan {
  const id = span.spanContext().spanId
  return exporter.getFinishedSpans().find((s) => s.spanContext().spanId === id) as ReadableSpan
}

const exceptions = (span: ReadableSpan) => span.events.filter((e) => e.name === 'exception')

/** Reporters run on a later turn of the event loop: the reports once there are `count` of them. */
async function reportsOnce (reports: ErrorReport[], count: number): Promise<ErrorReport[]> {
  return within((async () => {
    while (reports.length < count) await new Promise((resolve) => setImmediate(resolve))
    return reports
  })())
}

class PaymentGatewayDown extends Error {}

/**
 * A listening app with the plugin (reports collected), a few routes, and what `setup` adds; `get`
 * sends one request and returns the response with the request's span, ended.
 */
async function traceApp (t: Test, options: FlaskErrorsOptions = {}, setup?: (app: FastifyInstance) => Promise<void> | void, make = serverSpan) {
  const reports: ErrorReport[] = []
  const spans: Span[] = []
  const { app, logs } = await build({ report: (report) => { reports.push(report) }, ...options }, instrumentedServer(spans, make))
  t.teardown(() => app.close())
  app.get('/cheese', () => abort(404))
  app.get('/pay', () => { throw new PaymentGatewayDown('gateway at 10.0.0.7 timed out') })
  app.get('/plain', () => { throw new Error('plain') })
  app.get('/down', () => abort(503))
  app.get('/ok', () => 'ok')
  await setup?.(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const get = async (url: string, headers: Record<string, string> = API, method = 'GET'): Promise<{ res: Answer, span: ReadableSpan }> => {
    const before = spans.length
    const response = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers })
    const body = await response.text()
    const res = { statusCode: response.status, headers: response.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }
    // The body has arrived, so the server's response finished and its span ended.
    return { res, span: spans.length > before ? finished(spans.at(-1) as Span) : undefined as unknown as ReadableSpan }
  }
  return { app, logs, reports, get }
}

t.test('abort(404): the status stays unset, error.type says NotFound, the status code is on the span', async (t) => {
  const { get } = await traceApp(t)
  const { res, span } = await get('/cheese')
  t.equal(res.statusCode, 404)
  t.equal(span.status.code, SpanStatusCode.UNSET, 'a 4xx is the app\'s answer, not a server failure')
  t.equal(span.attributes['error.type'], 'NotFound')
  t.equal(span.attributes['http.response.status_code'], 404)
  t.same(span.events, [], 'no exception event')
})

t.test('an unknown URL and a 405: answered, classified, no error status', async (t) => {
  const { get } = await traceApp(t)
  const missing = await get('/nowhere')
  t.equal(missing.res.statusCode, 404)
  t.equal(missing.span.status.code, SpanStatusCode.UNSET)
  t.equal(missing.span.attributes['error.type'], 'NotFound')
  t.equal(missing.span.attributes['http.response.status_code'], 404)
  const wrong = await get('/cheese', API, 'DELETE')
  t.equal(wrong.res.statusCode, 405)
  t.equal(wrong.span.status.code, SpanStatusCode.UNSET)
  t.equal(wrong.span.attributes['error.type'], 'MethodNotAllowed')
  t.equal(wrong.span.attributes['http.response.status_code'], 405)
})

t.test('a crash: ERROR, one exception event of the error thrown, its class as exception.type', async (t) => {
  const { get } = await traceApp(t)
  const { res, span } = await get('/pay')
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /10\.0\.0\.7/, 'the client still sees no internals')
  t.equal(span.status.code, SpanStatusCode.ERROR)
  t.equal(span.status.message, 'PaymentGatewayDown: gateway at 10.0.0.7 timed out', 'the status says what failed')
  t.equal(exceptions(span).length, 1)
  const attributes = exceptions(span)[0]?.attributes ?? {}
  t.equal(attributes['exception.type'], 'PaymentGatewayDown', 'not "500", not InternalServerError: the original error')
  t.equal(attributes['exception.message'], 'gateway at 10.0.0.7 timed out')
  t.match(attributes['exception.stacktrace'], /trace\.test\.ts/, 'its stack, where it was thrown')
  t.equal(span.attributes['error.type'], 'PaymentGatewayDown')
  t.equal(span.attributes['http.response.status_code'], 500)
})

t.test('a plain Error: exception.type Error; error.type falls back to the status', async (t) => {
  const { get } = await traceApp(t)
  const { span } = await get('/plain')
  t.equal(span.status.code, SpanStatusCode.ERROR)
  t.equal(exceptions(span)[0]?.attributes?.['exception.type'], 'Error')
  t.equal(span.attributes['error.type'], '500', 'the convention\'s fallback: the status code, low in cardinality')
})

t.test('a thrown value that is no Error: the event says what kind of value it was', async (t) => {
  const revoked = Proxy.revocable({}, {})
  revoked.revoke()
  const { get } = await traceApp(t, {}, (app) => {
    // eslint-disable-next-line no-throw-literal -- what some libraries throw
    app.get('/string', () => { throw 'db down' })
    app.get('/bare', () => { throw Object.create(null) })
    app.get('/revoked', () => { throw revoked.proxy })
  })
  const text = await get('/string')
  t.equal(text.res.statusCode, 500)
  t.equal(text.span.status.code, SpanStatusCode.ERROR)
  t.same(exceptions(text.span).map((e) => [e.attributes?.['exception.type'], e.attributes?.['exception.message']]), [['string', 'db down']])
  t.equal(text.span.status.message, 'string: db down')
  t.equal(text.span.attributes['error.type'], '500')
  const bare = await get('/bare')
  t.equal(bare.res.statusCode, 500)
  t.same(exceptions(bare.span).map((e) => [e.attributes?.['exception.type'], e.attributes?.['exception.message']]), [['object', 'object']],
    'an object without a string form is still described')
  const hostile = await get('/revoked')
  t.equal(hostile.res.statusCode, 500, 'a value that cannot even be asked its class: still a 500')
  t.equal(hostile.span.status.code, SpanStatusCode.ERROR)
  t.equal(hostile.span.attributes['error.type'], '500')
  t.same(exceptions(hostile.span).map((e) => [e.attributes?.['exception.type'], e.attributes?.['exception.message']]), [['object', 'an unprintable value']])
})

t.test('error.type and the exception event for errors of every shape', async (t) => {
  const { get } = await traceApp(t, {}, (app) => {
    app.get('/coded', () => { throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' }) })
    app.get('/empty-code', () => { throw Object.assign(new PaymentGatewayDown('x'), { code: '' }) })
    // eslint-disable-next-line no-throw-literal -- a value some code throws
    app.get('/null', () => { throw null })
    app.get('/anonymous', () => { throw new (class extends Error {})('from a class without a name') })
    app.get('/no-stack', () => { throw Object.assign(new PaymentGatewayDown('no stack'), { stack: undefined }) })
    app.get('/silent', () => { throw new PaymentGatewayDown('') })
    app.get('/long', () => { throw new PaymentGatewayDown(`${'x'.repeat(300)}\nsecond line`) })
    app.get('/validated', { schema: { querystring: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } } } }, () => 'ok')
  })
  const event = (span: ReadableSpan) => exceptions(span)[0]?.attributes ?? {}
  const coded = await get('/coded')
  t.equal(coded.span.attributes['error.type'], 'ECONNREFUSED', 'a coded error by its code')
  t.equal(event(coded.span)['exception.type'], 'Error')
  t.equal((await get('/empty-code')).span.attributes['error.type'], 'PaymentGatewayDown', 'an empty code is no code')
  const nothing = await get('/null')
  t.equal(nothing.span.attributes['error.type'], '500')
  t.same([event(nothing.span)['exception.type'], event(nothing.span)['exception.message']], ['object', 'null'])
  const anonymous = await get('/anonymous')
  t.equal(anonymous.span.attributes['error.type'], '500')
  t.equal(event(anonymous.span)['exception.type'], 'Error', 'a class without a name: the error\'s name')
  const noStack = await get('/no-stack')
  t.equal(event(noStack.span)['exception.stacktrace'], undefined)
  t.equal(event(noStack.span)['exception.message'], 'no stack')
  t.equal((await get('/silent')).span.status.message, 'PaymentGatewayDown', 'no message: the class alone')
  const long = (await get('/long')).span.status.message as string
  t.equal(long.length, 200, 'the status description is a bounded summary')
  t.match(long, /^PaymentGatewayDown: x+…$/, 'of the first line')
  t.equal(event((await get('/long')).span)['exception.message'], `${'x'.repeat(300)}\nsecond line`, 'the event has the whole message')
  const invalid = await get('/validated')
  t.equal(invalid.res.statusCode, 400)
  t.equal(invalid.span.attributes['error.type'], 'FST_ERR_VALIDATION', "Fastify's framework errors by their code")
  t.equal(invalid.span.status.code, SpanStatusCode.UNSET)
})

t.test('abort(503): ERROR, and the exception is a ServiceUnavailable, not "503"', async (t) => {
  const { get } = await traceApp(t)
  const { span } = await get('/down')
  t.equal(span.status.code, SpanStatusCode.ERROR)
  t.equal(exceptions(span).length, 1)
  t.equal(exceptions(span)[0]?.attributes?.['exception.type'], 'ServiceUnavailable')
  t.equal(span.attributes['error.type'], 'ServiceUnavailable')
})

t.test('a 404 handler that fails: the failure is on the span, as a 500', async (t) => {
  const { get, logs } = await traceApp(t, {}, (app) => {
    app.errorhandler(404)(() => { throw new TypeError('helper is not a function') })
  })
  const { res, span } = await get('/cheese')
  t.equal(res.statusCode, 500)
  t.equal(span.status.code, SpanStatusCode.ERROR)
  t.equal(exceptions(span).length, 1, 'one event: the failure (the 404 it was handling is its cause, no error of the server)')
  t.equal(exceptions(span)[0]?.attributes?.['exception.type'], 'TypeError')
  t.equal(exceptions(span)[0]?.attributes?.['exception.message'], 'helper is not a function')
  t.equal(span.attributes['error.type'], 'TypeError')
  t.equal(span.attributes['http.response.status_code'], 500)
  const failure = logs.find((l) => l.level === LEVEL.error && / threw$/.test(l.msg))
  t.equal(failure?.err?.message, 'helper is not a function')
  t.equal(failure?.traceId, span.spanContext().traceId, "the failure's log line carries the trace id too")
})

t.test('a handler that sends the 404 itself: the span still learns it', async (t) => {
  const { get } = await traceApp(t, {}, (app) => {
    app.errorhandler(404)((error, request, reply) => { reply.code(404).send('no cheese') })
  })
  const { res, span } = await get('/cheese')
  t.equal(res.body, 'no cheese')
  t.equal(span.attributes['error.type'], 'NotFound')
  t.equal(span.attributes['http.response.status_code'], 404)
  t.equal(span.status.code, SpanStatusCode.UNSET)
})

t.test('a successful request: the plugin touches nothing on its span', async (t) => {
  const { get } = await traceApp(t)
  const { res, span } = await get('/ok')
  t.equal(res.body, 'ok')
  t.same(span.attributes, {})
  t.same(span.events, [])
  t.equal(span.status.code, SpanStatusCode.UNSET)
})

t.test('the trace id is where the request id is: JSON, the page, the log line, the report', async (t) => {
  const { get, logs, reports } = await traceApp(t)
  const json = await get('/cheese')
  const traceId = json.span.spanContext().traceId
  t.match(traceId, /^[0-9a-f]{32}$/)
  t.equal(json.res.json().traceId, traceId, 'JSON: traceId beside requestId')
  t.same(Object.keys(json.res.json()), ['statusCode', 'error', 'message', 'requestId', 'traceId'])
  const line = logs.find((l) => l.msg === 'GET /cheese answered 404')
  t.equal(line?.level, LEVEL.info)
  t.equal(line?.traceId, traceId, 'the log line carries it: logs and traces meet')

  const crash = await get('/pay')
  const crashTrace = crash.span.spanContext().traceId
  t.not(crashTrace, traceId, 'each request its own trace')
  t.equal(crash.res.json().traceId, crashTrace)
  t.equal(logs.find((l) => l.msg === 'GET /pay answered 500')?.traceId, crashTrace, 'the 5xx log line too')
  t.equal((await reportsOnce(reports, 1))[0]?.traceId, crashTrace, 'the report carries it')

  const page = await get('/cheese', BROWSER)
  t.match(page.res.headers.get('content-type'), /^text\/html/)
  t.match(page.res.body, `<code>${page.span.spanContext().traceId}</code>`, 'the built-in page shows it')
})

t.test('problem details carry traceId as an extension member', async (t) => {
  const { get } = await traceApp(t, { problemDetails: true })
  const { res, span } = await get('/cheese')
  t.match(res.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(res.json().traceId, span.spanContext().traceId)
})

t.test('the debug page and the debug JSON show the trace id', async (t) => {
  const { get } = await traceApp(t, { debug: true })
  const page = await get('/pay', BROWSER)
  t.match(page.res.body, `<code>${page.span.spanContext().traceId}</code>`)
  const json = await get('/pay')
  t.equal(json.res.json().traceId, json.span.spanContext().traceId)
  t.equal(exceptions(json.span)[0]?.attributes?.['exception.type'], 'PaymentGatewayDown', 'debug mode records the same')
})

t.test('a template gets traceId in its context', async (t) => {
  const root = t.testdir({ errors: { '404.ejs': 'trace <%= traceId %>' } })
  const { get } = await traceApp(t, {}, async (app) => {
    await app.register(view, { engine: { ejs }, root })
  })
  const { res, span } = await get('/cheese', BROWSER)
  t.equal(res.body, `trace ${span.spanContext().traceId}`)
})

t.test('no span: no traceId anywhere, the responses as without OpenTelemetry', async (t) => {
  const root = t.testdir({ errors: { '404.ejs': 'trace <%= traceId ?? "none" %>' } })
  const { get, logs, reports } = await traceApp(t, {}, async (app) => {
    await app.register(view, { engine: { ejs }, root })
  }, () => undefined)
  const { res } = await get('/pay')
  t.same(Object.keys(res.json()), ['statusCode', 'error', 'message', 'requestId'])
  t.notOk('traceId' in (logs.find((l) => l.msg === 'GET /pay answered 500') ?? {}), 'no traceId field on the log line')
  t.equal((await reportsOnce(reports, 1))[0]?.traceId, undefined, 'the report has none')
  t.notMatch((await get('/pay', BROWSER)).res.body, /Trace/, 'the page shows none')
  t.equal((await get('/cheese', BROWSER)).res.body, 'trace none', 'a template sees undefined')
})

t.test('the API without an SDK (no tracer provider): its no-op spans are invalid, so no traceId', async (t) => {
  // What an app gets from the API when nothing registered a provider: a non-recording span with the all-zero ids.
  const noop = (): Span => trace.getTracer('no-sdk').startSpan('GET')
  t.notOk(noop().isRecording())
  const { get, logs } = await traceApp(t, {}, undefined, noop)
  const { res } = await get('/pay')
  t.equal(res.statusCode, 500)
  t.equal(res.json().traceId, undefined)
  t.notOk('traceId' in (logs.find((l) => l.msg === 'GET /pay answered 500') ?? {}))
})

t.test('a trace not sampled (a valid span context, not recording): its id is still shown, for the logs to correlate by', async (t) => {
  const traceId = '0af7651916cd43dd8448eb211c80319c'
  const unsampled = (): Span => trace.wrapSpanContext({ traceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE })
  const { get, logs } = await traceApp(t, {}, undefined, unsampled)
  const { res } = await get('/pay')
  t.equal(res.statusCode, 500)
  t.equal(res.json().traceId, traceId)
  t.equal(logs.find((l) => l.msg === 'GET /pay answered 500')?.traceId, traceId)
})

t.test('openTelemetry: false: the span is left alone and no trace id is shown', async (t) => {
  const { get, logs, reports } = await traceApp(t, { openTelemetry: false })
  const { res, span } = await get('/pay')
  t.equal(res.statusCode, 500)
  t.equal(res.json().traceId, undefined)
  t.equal(span.status.code, SpanStatusCode.UNSET)
  t.same(span.attributes, {})
  t.same(span.events, [])
  t.notOk('traceId' in (logs.find((l) => l.msg === 'GET /pay answered 500') ?? {}))
  t.equal((await reportsOnce(reports, 1))[0]?.traceId, undefined)
})

/**
 * A child process whose module loader answers for `@opentelemetry/api` as an install would: absent
 * (ERR_MODULE_NOT_FOUND, as in an app that never installed it) or present but failing to load. The child
 * runs with this process's loaders (TypeScript, coverage) and registers the plugin from the sources.
 */
function withApi (t: Test, api: 'absent' | 'broken'): { statusCode: number, fields: string[], warnings: string[] } {
  const dir = t.testdir({
    'hooks.mjs': `
      export async function resolve (specifier, context, next) {
        if (specifier !== '@opentelemetry/api') return next(specifier, context)
        if (${JSON.stringify(api)} === 'broken') return { url: 'data:text/javascript,throw new Error("half-installed")', shortCircuit: true }
        throw Object.assign(new Error("Cannot find package '@opentelemetry/api'"), { code: 'ERR_MODULE_NOT_FOUND' })
      }
    `,
    'register.mjs': "import { register } from 'node:module'; register('./hooks.mjs', import.meta.url)",
    'app.mjs': `
      import Fastify from 'fastify'
      import flaskErrors from ${JSON.stringify(new URL('../index.ts', import.meta.url).href)}
      const warnings = []
      const app = Fastify({ logger: { level: 'warn', stream: { write: (line) => { warnings.push(JSON.parse(line).msg) } } } })
      await app.register(flaskErrors)
      app.get('/', () => { throw new Error('boom') })
      const res = await app.inject({ url: '/', headers: { accept: 'application/json' } })
      process.stdout.write(JSON.stringify({ statusCode: res.statusCode, fields: Object.keys(res.json()), warnings: warnings.filter((w) => w.includes('opentelemetry')) }))
    `
  })
  const out = execFileSync(process.execPath, [...process.execArgv, '--import', join(dir, 'register.mjs'), join(dir, 'app.mjs')],
    { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' })
  return JSON.parse(out) as { statusCode: number, fields: string[], warnings: string[] }
}

t.test('@opentelemetry/api not installed: the plugin works as without OpenTelemetry, and says nothing', async (t) => {
  t.same(withApi(t, 'absent'), { statusCode: 500, fields: ['statusCode', 'error', 'message', 'requestId'], warnings: [] },
    'an optional peer that is absent is the normal case: no warning')
})

t.test('@opentelemetry/api installed but failing to load: the app still starts, with one warning that says so', async (t) => {
  const { statusCode, fields, warnings } = withApi(t, 'broken')
  t.equal(statusCode, 500)
  t.same(fields, ['statusCode', 'error', 'message', 'requestId'], 'no traceId: tracing is off')
  t.equal(warnings.length, 1)
  t.match(warnings[0], /@opentelemetry\/api is installed but could not be loaded \(Error: half-installed\); errors are not recorded on traces/)
})
