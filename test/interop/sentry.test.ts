/**
 * With the real @sentry/node, its Fastify integration given the plugin's `shouldHandleError`, and the
 * plugin reporting through `sentryReporter(Sentry)`: what reaches Sentry is one event per reported
 * error, of the error to fix, with the request as the plugin masked it, and nothing for a 4xx. The
 * transport records envelopes instead of sending them (the DSN points at a closed local port).
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import * as Sentry from '@sentry/node'
import flaskErrors, { InternalServerError, NotFound } from '../../index.js'
import type { FlaskErrorsOptions } from '../../index.js'
import { FFE_BAD_SENTRY, sentryReporter, shouldHandleError } from '../../lib/sentry-entry.js'
import type { SentrySdk } from '../../lib/sentry-entry.js'
import { API } from '../helpers.js'

/** Every event item the SDK handed to its transport, in order. */
const events: Sentry.ErrorEvent[] = []
const warnings: Error[] = []
process.on('warning', (warning) => { warnings.push(warning) })

Sentry.init({
  dsn: 'https://public@127.0.0.1/1',
  integrations: [Sentry.fastifyIntegration({ shouldHandleError })],
  transport: () => ({
    async send (envelope) {
      for (const [header, payload] of envelope[1]) if (header.type === 'event') events.push(payload as Sentry.ErrorEvent)
      return { statusCode: 200 }
    },
    async flush () { return true }
  })
})

/** The events the test's requests produced: the plugin's reports (flushed by close) then Sentry's queue. */
async function sent (app: FastifyInstance): Promise<Sentry.ErrorEvent[]> {
  await app.close()
  await Sentry.flush(2000)
  return events.splice(0)
}

/** An app with the plugin reporting to Sentry; closed when the test ends. */
async function app (t: Test, options: FlaskErrorsOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { report: sentryReporter(Sentry), ...options })
  return app
}

t.beforeEach(() => { events.length = 0 })

t.test('a route that throws is one Sentry event of that error, with the request as the plugin masked it', async (t) => {
  const server = await app(t)
  server.get('/orders/:id', async () => { throw new TypeError('price is undefined') })
  // Over a real socket: Sentry's http integration then records the raw request on the request's
  // scope, and its request data would fill the event's request from it.
  const base = await server.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(`${base}/orders/42?token=abc&page=2`, {
    headers: { ...API, authorization: 'Bearer s3cr3t', cookie: 'session=abc123; theme=dark', 'x-api-key': 'k-999' }
  })
  t.equal(res.status, 500)
  const [event, ...more] = await sent(server)
  t.same(more, [], 'one event, not one from Sentry\'s integration and one from the plugin')
  t.equal(event?.exception?.values?.at(-1)?.type, 'TypeError')
  t.equal(event?.exception?.values?.at(-1)?.value, 'price is undefined')
  t.match(event?.exception?.values?.at(-1)?.mechanism, { type: 'fastify-flask-errors', handled: false })
  t.ok(event?.exception?.values?.at(-1)?.stacktrace?.frames?.some((frame) => frame.filename?.endsWith('sentry.test.ts')),
    'the stack points at the route')
  t.equal(event?.level, 'error')
  t.equal(event?.transaction, 'GET /orders/:id')
  t.match(event?.request, { method: 'GET', url: '/orders/42', query_string: 'token=[masked]&page=2' })
  const headers = event?.request?.headers ?? {}
  t.equal(headers.authorization, 'Bearer [masked]', 'the scheme is kept, the credentials are not')
  t.equal(headers.cookie, 'session=[masked]; theme=[masked]', 'cookie names are kept, their values are not')
  t.equal(headers['x-api-key'], '[masked]')
  // (The stack frames carry this file's source lines around the throw, as Sentry's context lines do.)
  const { exception: _frames, ...rest } = event ?? {}
  t.notMatch(JSON.stringify(rest), /s3cr3t|abc123|k-999|token=abc/, 'no secret anywhere else in the event')
  t.equal(event?.user?.ip_address, '127.0.0.1', 'the client address, as Sentry collects it by default (dataCollection.userInfo)')
  t.match(event?.tags, { 'http.status_code': '500', request_id: 'req-1' })
  t.match(event?.contexts?.response, { status_code: 500 })
  t.match(event?.contexts?.report, { status: 500, count: 1, requestId: 'req-1', route: '/orders/:id' })
  t.match(event?.extra, { count: 1 })
})

t.test('no Sentry event for a 4xx: an abort(404), an error a handler answers with 404, a routing miss', async (t) => {
  const server = await app(t)
  class KeyError extends Error {}
  server.errorhandler(KeyError)(() => ['no such key', 404])
  server.get('/abort', async (request, reply) => reply.abort(404))
  server.get('/key', async () => { throw new KeyError('missing') })
  server.get('/not-found', async () => { throw new NotFound() })
  for (const url of ['/abort', '/key', '/not-found', '/nowhere']) {
    t.equal((await server.inject({ url, headers: API })).statusCode, 404, url)
  }
  t.same(await sent(server), [], 'Sentry\'s integration saw the KeyError thrown as a 500 would be, and left it to the plugin')
})

t.test('a handler that fails is the failure\'s event, with the error it was handling beside it', async (t) => {
  const server = await app(t)
  class PaymentError extends Error {}
  server.errorhandler(PaymentError)(() => { throw new RangeError('template helper broke') })
  server.get('/pay', async () => { throw new PaymentError('card declined') })
  t.equal((await server.inject({ url: '/pay', headers: API })).statusCode, 500)
  const events = await sent(server)
  t.equal(events.length, 1, 'one event')
  const exception = events[0]?.exception?.values?.at(-1)
  t.equal(exception?.type, 'RangeError', 'the failure, not the 500 that wraps it')
  t.equal(exception?.value, 'template helper broke')
  t.match(events[0]?.extra?.handledError, { type: 'PaymentError', message: 'card declined' })
})

t.test('an error the app wraps in InternalServerError is reported as its originalError', async (t) => {
  const server = await app(t)
  server.get('/db', async () => { throw new InternalServerError(undefined, { originalError: new Error('connection reset') }) })
  await server.inject({ url: '/db', headers: API })
  const events = await sent(server)
  t.equal(events.length, 1)
  t.equal(events[0]?.exception?.values?.at(-1)?.value, 'connection reset')
  t.notOk(events[0]?.extra?.handledError, 'no handled error: nothing was handling it')
})

t.test('a 4xx the app chose to report (reportWhen) is a warning', async (t) => {
  const server = await app(t, { reportWhen: (status) => status === 409 || status >= 500 })
  server.get('/conflict', async (request, reply) => reply.abort(409))
  t.equal((await server.inject({ url: '/conflict', headers: API })).statusCode, 409)
  const events = await sent(server)
  t.equal(events.length, 1)
  t.equal(events[0]?.level, 'warning')
  t.equal(events[0]?.exception?.values?.at(-1)?.type, 'Conflict')
  t.match(events[0]?.tags, { 'http.status_code': '409' })
})

t.test('repeats inside the window are one more event with their count, from the last repeat\'s request', async (t) => {
  const server = await app(t)
  server.get('/flaky/:n', async () => { throw new Error('upstream timed out') })
  server.get('/other', async () => { throw new Error('another bug') })
  for (const n of [1, 2, 3]) await server.inject({ url: `/flaky/${n}`, headers: API })
  // Another error in between: Sentry's own Dedupe integration drops an event identical to the one
  // sent just before it, which the summary would be.
  await server.inject({ url: '/other', headers: API })
  const events = await sent(server)
  t.equal(events.length, 3, 'the first /flaky, /other, and the summary of the two repeats')
  const summary = events.find((event) => event.extra?.count === 2)
  t.equal(summary?.exception?.values?.at(-1)?.value, 'upstream timed out')
  t.equal(summary?.request?.url, '/flaky/3', 'the last repeat\'s request')
  t.equal(summary?.request?.headers?.accept, 'application/json')
  t.match(summary?.contexts?.report, { count: 2, requestId: 'req-3' })
})

t.test('the scope of the failing request is on its event (Sentry.setUser in a hook)', async (t) => {
  const server = await app(t)
  server.addHook('onRequest', async (request) => { Sentry.setUser({ id: String(request.headers['x-user']) }) })
  server.get('/boom', async () => { throw new Error('boom for a user') })
  await server.inject({ url: '/boom', headers: { ...API, 'x-user': 'u-7' } })
  const events = await sent(server)
  t.equal(events.length, 1)
  t.equal(events[0]?.user?.id, 'u-7')
})

t.test('another Fastify app in the process, without the plugin, keeps Sentry\'s own capture of its 500s', async (t) => {
  const bare = Fastify()
  t.teardown(() => bare.close())
  bare.get('/bare', async () => { throw new Error('bare app bug') })
  bare.get('/missing', async (request, reply) => reply.code(404).send({ missing: true }))
  bare.get('/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418 }) })
  t.equal((await bare.inject('/bare')).statusCode, 500)
  t.equal((await bare.inject('/teapot')).statusCode, 418)
  const events = await sent(bare)
  t.equal(events.length, 1, 'the 500 only')
  t.equal(events[0]?.exception?.values?.at(-1)?.value, 'bare app bug')
  t.match(events[0]?.exception?.values?.at(-1)?.mechanism, { type: 'auto.function.fastify' }, 'captured by Sentry\'s integration')
})

t.test('the reporter is made after Sentry.init with shouldHandleError: no double-capture warning', async (t) => {
  t.same(warnings.filter((warning) => (warning as { code?: string }).code === 'FFE_SENTRY_DOUBLE_CAPTURE'), [])
})

t.test('sentryReporter refuses what is not the Sentry SDK, saying what to pass', async (t) => {
  const bad: unknown[] = [undefined, null, 'sentry', { captureException () {} }, Sentry.init]
  for (const value of bad) {
    t.throws(() => sentryReporter(value as SentrySdk), FFE_BAD_SENTRY, String(value))
  }
  t.throws(() => sentryReporter({} as SentrySdk), { code: 'FFE_BAD_SENTRY', message: /import \* as Sentry from '@sentry\/node'.*no captureException\(\)/ })
  t.throws(() => sentryReporter({ ...Sentry, withIsolationScope: undefined } as unknown as SentrySdk), { message: /no withIsolationScope\(\)/ })
})

t.test('the report\'s context (reportContext, error.context()) is the event\'s reportContext context', async (t) => {
  const server = await app(t, { reportContext: (request) => ({ tenant: String(request.headers['x-tenant']), apiKey: 'k-1' }) })
  class OrderError extends Error {
    context (): Record<string, unknown> { return { orderId: 42 } }
  }
  server.get('/order', async () => { throw new OrderError('stock went negative') })
  await server.inject({ url: '/order', headers: { ...API, 'x-tenant': 'acme' } })
  const events = await sent(server)
  t.equal(events.length, 1)
  t.same(events[0]?.contexts?.reportContext, { orderId: 42, tenant: 'acme', apiKey: '[masked]' })
})

t.test('no reportContext context when the report has none; a header sent twice is one string', async (t) => {
  const server = await app(t)
  server.get('/plain', async () => { throw new Error('plain') })
  await server.inject({ url: '/plain', headers: { ...API, 'set-cookie': ['a=1', 'b=2'] } })
  const events = await sent(server)
  t.equal(events.length, 1)
  t.notOk(events[0]?.contexts?.reportContext)
  t.equal(events[0]?.request?.headers?.['set-cookie'], 'a=[masked], b=[masked]', 'a repeated field as one string')
})
