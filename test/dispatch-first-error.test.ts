/**
 * lib/dispatch.ts, in a fresh process: the plugin finds Fastify's "next error handler" symbol on the
 * first reply that carries it. A routing 404 (which has none) coming first must not make it stop
 * looking — else an `onSend` hook failing on a later error response would reach Fastify's default
 * handler and show that failure's message. Its own file: tap runs each file in its own process.
 */
import t from 'tap'
import { build, API } from './helpers.js'

t.test('a routing 404 as the first error of the process does not disable reclaiming', async (t) => {
  const { app } = await build()
  app.get('/gone', (request, reply) => reply.abort(410))
  await app.register(async (hooked) => {
    hooked.addHook('onSend', async () => { throw new Error('secret onSend failure') })
    hooked.get('/hooked', (request, reply) => reply.abort(410))
  })
  t.equal((await app.inject({ url: '/first-ever-error-is-a-404', headers: API })).statusCode, 404)
  const res = await app.inject({ url: '/hooked', headers: API })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /secret onSend failure/)
  t.equal(res.json().message, 'Something went wrong on our side.')
})
