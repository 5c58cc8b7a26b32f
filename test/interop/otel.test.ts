/**
 * With @fastify/otel (Fastify's OpenTelemetry instrumentation) and the real OpenTelemetry SDK: the
 * request span says what the plugin decided. @fastify/otel marks the request span ERROR for every
 * error in its `onError` hook, which Fastify runs before any error handler; the recommended setup —
 * `recordExceptions: false` and `ClientErrorSpanProcessor` from `fastify-flask-errors/otel` — gives the
 * HTTP semantic conventions' server-span rule: a 4xx leaves the status unset, a 5xx is ERROR with one
 * exception event of the original error.
 */
import t from 'tap'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
// What an HTTP server instrumentation sets (@opentelemetry/core: a dependency of the SDK).
import { RPCType, setRPCMetadata } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import view from '@fastify/view'
import ejs from 'ejs'
import Fastify from 'fastify'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import flaskErrors, { abort } from '../../index.js'
import { ClientErrorSpanProcessor } from '../../lib/otel-entry.js'
import { API, BROWSER, within } from '../helpers.js'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

/** A tracer provider whose spans are kept in memory; with the processor unless told otherwise. */
function tracing (withProcessor = true): { provider: BasicTracerProvider, exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter()
  const exporting = new SimpleSpanProcessor(exporter)
  const provider = new BasicTracerProvider({ spanProcessors: withProcessor ? [new ClientErrorSpanProcessor(), exporting] : [exporting] })
  return { provider, exporter }
}

/** An app instrumented by @fastify/otel as its README says (registered first), then this plugin. */
async function app (options: { withProcessor?: boolean, recordExceptions?: boolean, instrumentHandler?: boolean } = {}) {
  const { provider, exporter } = tracing(options.withProcessor)
  const instrumentation = new FastifyOtelInstrumentation({
    recordExceptions: options.recordExceptions ?? false,
    instrumentHandler: options.instrumentHandler ?? true
  })
  instrumentation.setTracerProvider(provider)
  const server = Fastify()
  await server.register(instrumentation.plugin())
  await server.register(flaskErrors)
  /** The request span of the request to `url` (it ends in onSend, or in onResponse for an unrouted URL). */
  const requestSpan = async (url: string): Promise<ReadableSpan> => within((async () => {
    for (;;) {
      const span = exporter.getFinishedSpans().find((s) => s.name === 'request' && s.attributes['url.path'] === url)
      if (span !== undefined) return span
      await new Promise((resolve) => setImmediate(resolve))
    }
  })())
  return { server, exporter, requestSpan }
}

class PaymentGatewayDown extends Error {}

t.test('abort(404) from a route: the request span is no error, and says it was a NotFound answered 404', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.get('/cheese', () => abort(404))
  const res = await server.inject({ url: '/cheese', headers: API })
  t.equal(res.statusCode, 404)
  const span = await requestSpan('/cheese')
  t.equal(span.kind, SpanKind.SERVER, "@fastify/otel's request span stands for the HTTP exchange")
  t.equal(span.status.code, SpanStatusCode.UNSET, 'a 4xx leaves the status unset')
  t.equal(span.attributes['error.type'], 'NotFound')
  t.equal(span.attributes['http.response.status_code'], 404)
  t.same(span.events, [], 'no exception event for an answer the app chose')
})

t.test('without the processor, @fastify/otel alone marks that 404 ERROR (why the processor exists)', async (t) => {
  const { server, requestSpan } = await app({ withProcessor: false })
  t.teardown(() => server.close())
  server.get('/cheese', () => abort(404))
  await server.inject({ url: '/cheese', headers: API })
  const span = await requestSpan('/cheese')
  t.equal(span.status.code, SpanStatusCode.ERROR, 'its onError hook ran before the error handler; no API call can unset it')
  t.equal(span.attributes['error.type'], 'NotFound', 'the plugin still classified it')
})

// Routing misses: no error of the app's, so no error on its span, but classified.
const misses = [
  { title: 'an unknown URL: the request span is no error, with error.type and the 404', method: 'GET', url: '/nowhere', status: 404, type: 'NotFound' },
  { title: 'a 405: the request span is no error, error.type MethodNotAllowed', method: 'DELETE', url: '/cheese', status: 405, type: 'MethodNotAllowed' }
] as const
for (const miss of misses) {
  t.test(miss.title, async (t) => {
    const { server, requestSpan } = await app()
    t.teardown(() => server.close())
    server.get('/cheese', () => 'brie')
    const res = await server.inject({ method: miss.method, url: miss.url, headers: API })
    t.equal(res.statusCode, miss.status)
    const span = await requestSpan(miss.url)
    t.equal(span.status.code, SpanStatusCode.UNSET)
    t.equal(span.attributes['error.type'], miss.type)
    t.equal(span.attributes['http.response.status_code'], miss.status)
  })
}

t.test('a route with @fastify/otel switched off (config.otel: false): no span, so no trace id and nothing recorded', async (t) => {
  const { server, exporter } = await app()
  t.teardown(() => server.close())
  server.get('/quiet', { config: { otel: false } }, () => { throw new PaymentGatewayDown('down') })
  const res = await server.inject({ url: '/quiet', headers: API })
  t.equal(res.statusCode, 500)
  t.equal(res.json().traceId, undefined)
  t.same(exporter.getFinishedSpans(), [])
})

t.test('a crash: the request span is ERROR with exactly one exception event, of the error thrown', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.get('/pay', () => { throw new PaymentGatewayDown('gateway at 10.0.0.7 timed out') })
  const res = await server.inject({ url: '/pay', headers: API })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /10\.0\.0\.7/, 'the client still sees no internals')
  const span = await requestSpan('/pay')
  t.equal(span.status.code, SpanStatusCode.ERROR)
  const exceptions = span.events.filter((e) => e.name === 'exception')
  t.equal(exceptions.length, 1, 'one exception event')
  t.equal(exceptions[0]?.attributes?.['exception.type'], 'PaymentGatewayDown', 'its class, not "500", not InternalServerError')
  t.equal(exceptions[0]?.attributes?.['exception.message'], 'gateway at 10.0.0.7 timed out')
  t.equal(span.attributes['error.type'], 'PaymentGatewayDown')
  t.equal(span.attributes['http.response.status_code'], 500)
})

t.test('abort(503): ERROR, and the exception event is a ServiceUnavailable, not "503"', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.get('/down', () => abort(503))
  await server.inject({ url: '/down', headers: API })
  const span = await requestSpan('/down')
  t.equal(span.status.code, SpanStatusCode.ERROR)
  const exceptions = span.events.filter((e) => e.name === 'exception')
  t.equal(exceptions.length, 1)
  t.equal(exceptions[0]?.attributes?.['exception.type'], 'ServiceUnavailable')
  t.equal(span.attributes['error.type'], 'ServiceUnavailable')
})

t.test('a 404 handler that fails: the span shows its failure, answered 500', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.errorhandler(404)(() => { throw new TypeError('template helper is not a function') })
  server.get('/cheese', () => abort(404))
  const res = await server.inject({ url: '/cheese', headers: API })
  t.equal(res.statusCode, 500)
  const span = await requestSpan('/cheese')
  t.equal(span.status.code, SpanStatusCode.ERROR, 'the final status is 500: the processor leaves it')
  const exceptions = span.events.filter((e) => e.name === 'exception')
  t.equal(exceptions.length, 1)
  t.equal(exceptions[0]?.attributes?.['exception.type'], 'TypeError', 'the bug to fix is the failure, not the 404')
  t.equal(exceptions[0]?.attributes?.['exception.message'], 'template helper is not a function')
  t.equal(span.attributes['http.response.status_code'], 500)
})

t.test('a 404 handler that sends its own reply: the request span learns it before @fastify/otel ends it in onSend', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.errorhandler(404)((error, request, reply) => { reply.code(404).send('no cheese') })
  server.get('/cheese', () => abort(404))
  const res = await server.inject({ url: '/cheese', headers: API })
  t.equal(res.body, 'no cheese')
  const span = await requestSpan('/cheese')
  t.equal(span.attributes['error.type'], 'NotFound')
  t.equal(span.status.code, SpanStatusCode.UNSET)
})

t.test('a 404 answered by reply.view or by a template page: recorded before the span ends', async (t) => {
  const root = t.testdir({ '404.ejs': 'no <%= what %>', errors: { '410.ejs': 'gone: <%= traceId %>' } })
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  await server.register(view, { engine: { ejs }, root })
  server.errorhandler(404)((error, request, reply) => reply.view('404.ejs', { what: 'cheese' }))
  server.get('/cheese', () => abort(404))
  server.get('/gone', () => abort(410))
  const page = await server.inject({ url: '/cheese', headers: BROWSER })
  t.equal(page.body, 'no cheese')
  const viewed = await requestSpan('/cheese')
  t.equal(viewed.attributes['error.type'], 'NotFound', "a handler's reply.view: its send is the watched one")
  t.equal(viewed.status.code, SpanStatusCode.UNSET)
  const gone = await server.inject({ url: '/gone', headers: BROWSER })
  const rendered = await requestSpan('/gone')
  t.equal(gone.body, `gone: ${rendered.spanContext().traceId}`, 'the template page, rendered asynchronously, shows the trace id')
  t.equal(rendered.attributes['error.type'], 'Gone')
  t.equal(rendered.attributes['http.response.status_code'], 410)
})

t.test('a 404 that a handler answers with a 500 stays an error: the processor reads the final status', async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.errorhandler(404)(() => ['the catalogue is down', 500])
  server.get('/cheese', () => abort(404))
  const res = await server.inject({ url: '/cheese', headers: API })
  t.equal(res.statusCode, 500)
  const span = await requestSpan('/cheese')
  t.equal(span.attributes['http.response.status_code'], 500)
  t.equal(span.status.code, SpanStatusCode.ERROR)
})

t.test("the JSON's traceId is the request span's trace id", async (t) => {
  const { server, requestSpan } = await app()
  t.teardown(() => server.close())
  server.get('/cheese', () => abort(404))
  server.get('/pay', () => { throw new PaymentGatewayDown('down') })
  for (const url of ['/cheese', '/pay', '/nowhere']) {
    const res = await server.inject({ url, headers: API })
    const span = await requestSpan(url)
    t.match(res.json().traceId, /^[0-9a-f]{32}$/, url)
    t.equal(res.json().traceId, span.spanContext().traceId, `${url}: an operator finds the trace from what the client got`)
  }
})

t.test('with recordExceptions left on, @fastify/otel adds its own exception event: the recommended setup turns it off', async (t) => {
  const { server, requestSpan } = await app({ recordExceptions: true })
  t.teardown(() => server.close())
  server.get('/pay', () => { throw new PaymentGatewayDown('down') })
  await server.inject({ url: '/pay', headers: API })
  const span = await requestSpan('/pay')
  t.equal(span.events.filter((e) => e.name === 'exception').length, 2, "@fastify/otel's event and the plugin's")
})

t.test("@fastify/otel's span of the route handler is ERROR when it throws abort(404); instrumentHandler: false makes none", async (t) => {
  const { server, exporter, requestSpan } = await app()
  t.teardown(() => server.close())
  server.get('/cheese', function cheese () { abort(404) })
  await server.inject({ url: '/cheese', headers: API })
  await requestSpan('/cheese')
  const handler = exporter.getFinishedSpans().find((s) => s.name === 'handler - cheese')
  t.equal(handler?.status.code, SpanStatusCode.ERROR, 'the handler did throw: an INTERNAL span without an HTTP status, left as it is')
  t.equal(handler?.kind, SpanKind.INTERNAL)

  const bare = await app({ instrumentHandler: false })
  t.teardown(() => bare.server.close())
  bare.server.get('/cheese', function cheese () { abort(404) })
  await bare.server.inject({ url: '/cheese', headers: API })
  t.equal((await bare.requestSpan('/cheese')).status.code, SpanStatusCode.UNSET)
  t.same(bare.exporter.getFinishedSpans().map((s) => s.name), ['request'], 'only the request span, which says the 404 is no error')
})

t.test('under an HTTP server instrumentation, @fastify/otel\'s request span is INTERNAL: the plugin records there, a 404 stays no error', async (t) => {
  const { provider, exporter } = tracing()
  const http = provider.getTracer('http-server')
  const instrumentation = new FastifyOtelInstrumentation({ recordExceptions: false })
  instrumentation.setTracerProvider(provider)
  // The server made as @opentelemetry/instrumentation-http makes it: a SERVER span per request, active,
  // with the RPC metadata that tells @fastify/otel an HTTP instrumentation owns the request.
  const server = Fastify({
    serverFactory: (handler) => createServer((req, res) => {
      const span = http.startSpan(req.method ?? 'GET', { kind: SpanKind.SERVER })
      res.once('finish', () => { span.setAttribute('http.response.status_code', res.statusCode).end() })
      const active = setRPCMetadata(trace.setSpan(context.active(), span), { type: RPCType.HTTP, span })
      context.with(active, () => { handler(req, res) })
    })
  })
  t.teardown(() => server.close())
  await server.register(instrumentation.plugin())
  await server.register(flaskErrors)
  server.get('/cheese', () => abort(404))
  server.get('/pay', () => { throw new PaymentGatewayDown('down') })
  await server.listen({ port: 0, host: '127.0.0.1' })
  const { port } = server.server.address() as AddressInfo
  const spansOf = async (url: string): Promise<{ traceId: unknown, request?: ReadableSpan, http?: ReadableSpan }> => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers: API })
    const { traceId } = await res.json() as { traceId: unknown }
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)
    return { traceId, request: spans.find((s) => s.name === 'request'), http: spans.find((s) => s.kind === SpanKind.SERVER) }
  }
  const missing = await spansOf('/cheese')
  t.equal(missing.request?.kind, SpanKind.INTERNAL)
  t.equal(missing.request?.attributes['error.type'], 'NotFound', 'the span the request is about: @fastify/otel\'s')
  t.equal(missing.request?.status.code, SpanStatusCode.UNSET, 'the INTERNAL span the plugin classified: reset too')
  t.equal(missing.http?.attributes['error.type'], undefined, 'one span is recorded on: the SERVER span is the HTTP instrumentation\'s to describe')
  t.ok(missing.http !== undefined && missing.http.spanContext().traceId === missing.traceId, 'one trace: the traceId the client got')
  const crash = await spansOf('/pay')
  t.equal(crash.request?.status.code, SpanStatusCode.ERROR)
  t.equal(crash.request?.events.filter((e) => e.name === 'exception')[0]?.attributes?.['exception.type'], 'PaymentGatewayDown')
})

t.test('ClientErrorSpanProcessor leaves every span but a 4xx request span as it is', async (t) => {
  const { provider, exporter } = tracing()
  const tracer = provider.getTracer('test')
  const ended = (name: string, kind: SpanKind, attributes: Record<string, string | number>, code = SpanStatusCode.ERROR): ReadableSpan => {
    const span = tracer.startSpan(name, { kind, attributes })
    span.setStatus({ code, message: 'failed' })
    span.end()
    return exporter.getFinishedSpans().find((s) => s.name === name) as ReadableSpan
  }
  t.equal(ended('server 404', SpanKind.SERVER, { 'http.response.status_code': 404 }).status.code, SpanStatusCode.UNSET,
    'any SERVER span answered 4xx: the semantic conventions\' rule')
  t.equal(ended('server 499', SpanKind.SERVER, { 'http.response.status_code': 499 }).status.code, SpanStatusCode.UNSET)
  t.equal(ended('server 500', SpanKind.SERVER, { 'http.response.status_code': 500 }).status.code, SpanStatusCode.ERROR, 'a 5xx is an error')
  t.equal(ended('server 399', SpanKind.SERVER, { 'http.response.status_code': 399 }).status.code, SpanStatusCode.ERROR)
  t.equal(ended('server no status', SpanKind.SERVER, {}).status.code, SpanStatusCode.ERROR, 'no response status: nothing to go by')
  t.equal(ended('server string status', SpanKind.SERVER, { 'http.response.status_code': '404' }).status.code, SpanStatusCode.ERROR,
    'the convention makes it an int; a string is not read as one')
  t.equal(ended('client 404', SpanKind.CLIENT, { 'http.response.status_code': 404, 'error.type': '404' }).status.code, SpanStatusCode.ERROR,
    'for a CLIENT span a 4xx is an error (the request it sent failed)')
  t.equal(ended('internal 404 of ours', SpanKind.INTERNAL, { 'http.response.status_code': 404, 'error.type': 'NotFound' }).status.code,
    SpanStatusCode.UNSET, "@fastify/otel's INTERNAL request span under an HTTP server instrumentation, which the plugin classified")
  t.equal(ended('internal 404', SpanKind.INTERNAL, { 'http.response.status_code': 404 }).status.code, SpanStatusCode.ERROR,
    'an INTERNAL span nobody classified is not taken for the request')
  t.equal(ended('producer 404', SpanKind.PRODUCER, { 'http.response.status_code': 404, 'error.type': 'NotFound' }).status.code, SpanStatusCode.ERROR)
  t.equal(ended('ok 404', SpanKind.SERVER, { 'http.response.status_code': 404 }, SpanStatusCode.OK).status.code, SpanStatusCode.OK,
    'a status of OK someone set on purpose stays')
  const reset = exporter.getFinishedSpans().find((s) => s.name === 'server 404') as ReadableSpan
  t.equal(reset.status.message, undefined, 'the reset status carries no description')
  await provider.forceFlush()
  await provider.shutdown()
})
