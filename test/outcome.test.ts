/**
 * The `fastify-flask-errors:error` diagnostics channel, as an APM agent or a metrics exporter uses it:
 * one message per error response, with the error, the request, the reply, the status, whether it is
 * reported and the trace id; nothing for a success, a preview, or when nobody listens.
 */
import t from 'tap'
import type { Test } from 'tap'
import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel'
import { ERROR_CHANNEL, InternalServerError, NotFound, abort } from '../index.js'
import type { ErrorMessage, ErrorReport } from '../index.js'
import { API, build } from './helpers.js'

/** Subscribes for the test's duration; returns the messages received. */
function listen (t: Test): ErrorMessage[] {
  const messages: ErrorMessage[] = []
  const onMessage = (message: unknown): void => { messages.push(message as ErrorMessage) }
  subscribe(ERROR_CHANNEL, onMessage)
  t.teardown(() => { unsubscribe(ERROR_CHANNEL, onMessage) })
  return messages
}

t.test('the channel is named as documented', async (t) => {
  t.equal(ERROR_CHANNEL, 'fastify-flask-errors:error')
})

t.test('one message per error response: an abort, a routing miss, a crash; none for a success', async (t) => {
  const messages = listen(t)
  const reports: ErrorReport[] = []
  const { app } = await build({ report: (report) => { reports.push(report) } })
  t.teardown(() => app.close())
  app.get('/ok', async () => 'fine')
  app.get('/gone', async () => abort(410))
  app.get('/boom', async () => { throw new TypeError('kaput') })

  t.equal((await app.inject('/ok')).statusCode, 200)
  t.equal(messages.length, 0, 'a success publishes nothing')

  const gone = await app.inject({ url: '/gone', headers: API })
  t.equal(gone.statusCode, 410)
  t.equal(messages.length, 1)
  t.equal(messages[0].status, 410)
  t.equal(messages[0].reported, false, 'a 4xx is not reported by default')
  t.equal((messages[0].error as Error).constructor.name, 'Gone')
  t.equal(messages[0].request.url, '/gone')
  t.equal(messages[0].reply.statusCode, 410, 'the reply is the one answered')
  t.equal(messages[0].traceId, undefined, 'no span, no trace id')

  await app.inject('/nowhere')
  t.equal(messages.length, 2)
  t.equal(messages[1].status, 404)
  t.ok(messages[1].error instanceof NotFound, 'a routing miss as the request\'s own NotFound')

  const boom = await app.inject('/boom')
  t.equal(boom.statusCode, 500)
  t.equal(messages.length, 3)
  t.equal(messages[2].status, 500)
  t.equal(messages[2].reported, true, 'a 5xx is reported')
  t.ok(messages[2].error instanceof TypeError, 'the value thrown, not the 500 that answered it')
  await app.close()
  t.equal(reports.length, 1, 'and the reporter got it once')
})

t.test('without reporters nothing is reported, and a reportWhen that excludes it says so', async (t) => {
  const messages = listen(t)
  const { app } = await build({ report: () => {}, reportWhen: [503] })
  t.teardown(() => app.close())
  app.get('/boom', async () => { throw new Error('x') })
  app.get('/busy', async () => abort(503))
  await app.inject('/boom')
  await app.inject('/busy')
  t.same(messages.map((m) => [m.status, m.reported]), [[500, false], [503, true]])

  const { app: quiet } = await build()
  t.teardown(() => quiet.close())
  quiet.get('/boom', async () => { throw new Error('x') })
  await quiet.inject('/boom')
  t.same(messages[2]?.reported, false, 'no reporter: not reported')
})

t.test('a failing handler: one message, for the 500 that answered, with its failure', async (t) => {
  const messages = listen(t)
  const { app } = await build()
  t.teardown(() => app.close())
  app.errorhandler(404)(() => { throw new RangeError('handler broke') })
  app.get('/missing', async () => abort(404))
  const res = await app.inject('/missing')
  t.equal(res.statusCode, 500)
  t.equal(messages.length, 1, 'the 404 never went out: only the 500 is published')
  t.equal(messages[0].status, 500)
  t.equal((messages[0].error as InternalServerError).originalError?.constructor.name, 'RangeError')
})

t.test('a handler that sends its own reply is published once the response is done, with its status', async (t) => {
  const messages = listen(t)
  const { app } = await build()
  t.teardown(() => app.close())
  app.errorhandler(404)((error, request, reply) => reply.code(404).type('text/plain').send('no such page'))
  app.get('/missing', async () => abort(404))
  const res = await app.inject('/missing')
  t.equal(res.body, 'no such page')
  t.equal(messages.length, 1)
  t.equal(messages[0].status, 404)
  t.ok(messages[0].reply.raw.writableEnded, 'published after the response was done')
})

t.test('a preview of an error page publishes nothing', async (t) => {
  const messages = listen(t)
  const { app } = await build({ preview: '/_errors' })
  t.teardown(() => app.close())
  const res = await app.inject('/_errors/503')
  t.equal(res.statusCode, 503)
  t.equal(messages.length, 0)
})

t.test('nobody subscribed: nothing is published, and a later subscriber gets the next error', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  app.get('/gone', async () => abort(410))
  t.equal(channel(ERROR_CHANNEL).hasSubscribers, false)
  await app.inject('/gone')
  const messages = listen(t)
  await app.inject('/gone')
  t.equal(messages.length, 1, 'only the error after subscribing')
})
