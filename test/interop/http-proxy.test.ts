/**
 * Next to @fastify/http-proxy (and @fastify/reply-from under it): an upstream that refuses the
 * connection makes the proxy answer with its own 500 whose `cause` is the socket's `ECONNREFUSED`
 * error. A code key sees that cause, so an app's errorhandler('ECONNREFUSED') answers the outage.
 */
import t from 'tap'
import { createServer } from 'node:net'
import proxy from '@fastify/http-proxy'
import replyFrom from '@fastify/reply-from'
import { API, BROWSER, build } from '../helpers.js'

/** A port on 127.0.0.1 that nothing listens on: bound by a server that is then closed. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve, reject) => server.close((error) => { if (error) reject(error); else resolve() }))
  return port
}

t.test('with @fastify/http-proxy in front of a dead upstream, errorhandler(\'ECONNREFUSED\') answers', async (t) => {
  const port = await closedPort()
  const { app } = await build()
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.errorhandler('ECONNREFUSED')((error, request, reply) => {
    seen.push(error)
    reply.header('retry-after', '30')
    return ['<h1>The catalogue is down for a moment</h1>', 503]
  })
  await app.register(proxy, { upstream: `http://127.0.0.1:${port}`, prefix: '/catalogue' })

  const res = await app.inject({ url: '/catalogue/items', headers: BROWSER })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '30')
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.body, '<h1>The catalogue is down for a moment</h1>')
  t.equal(seen.length, 1, 'the handler ran once')
  const error = seen[0] as Error & { code?: string, cause?: { code?: string } }
  t.equal(error.cause?.code, 'ECONNREFUSED', 'it received the proxy\'s error, whose cause is the refused connection')
  t.not(error.code, 'ECONNREFUSED', 'the proxy\'s error has a code of its own: the match came from the cause')
})

t.test('without a code handler, a dead upstream gets the default 5xx response, which shows nothing of it', async (t) => {
  const port = await closedPort()
  const { app, logs } = await build()
  t.teardown(() => app.close())
  await app.register(proxy, { upstream: `http://127.0.0.1:${port}`, prefix: '/catalogue' })

  const res = await app.inject({ url: '/catalogue/items', headers: API })
  t.equal(res.statusCode, 500)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'].sort())
  t.equal(body.error, 'Internal Server Error')
  t.notMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|connect/, 'neither the upstream address nor the socket error leaks')
  t.ok(logs.some((line) => line.level >= 50 && line.err !== undefined), 'the error is logged')
})

t.test('with @fastify/reply-from used in a route, the cause\'s code is looked up per context, inner first', async (t) => {
  const port = await closedPort()
  const { app } = await build()
  t.teardown(() => app.close())
  await app.register(replyFrom, { base: `http://127.0.0.1:${port}` })
  app.errorhandler('ECONNREFUSED')(() => ['root: upstream down', 503])
  app.errorhandler(500)(() => ['root 500', 500])
  app.get('/site', (request, reply) => { reply.from('/page') })
  await app.register(async (api) => {
    api.errorhandler('ECONNREFUSED')(() => ({ message: 'api: upstream down' }))
    api.get('/users', (request, reply) => { reply.from('/users') })
  }, { prefix: '/api' })

  const site = await app.inject({ url: '/site', headers: API })
  t.same([site.statusCode, site.body], [503, 'root: upstream down'], 'the cause\'s code beats the root 500 handler')
  const api = await app.inject({ url: '/api/users', headers: API })
  t.same([api.statusCode, api.json()], [500, { message: 'api: upstream down' }], 'the context\'s own handler, with the error\'s status')
})
