/**
 * With @fastify/sensible registered: its errors are `http-errors` errors (`status`/`statusCode`,
 * `expose`), sent by its reply shortcuts (`reply.notFound()` is `reply.send(httpErrors.notFound())`)
 * or thrown (`throw fastify.httpErrors.conflict()`, `fastify.assert`). The plugin answers them by their
 * status — the app's `errorhandler(404)` answers sensible's 404 — and headers sensible's helpers put
 * on the reply before the error (`reply.vary`, `reply.cacheControl`) stay on the error response.
 */
import t from 'tap'
import sensible from '@fastify/sensible'
import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../index.js'
import { build, API, BROWSER, LEVEL } from '../helpers.js'

async function server () {
  const built = await build()
  // An explicit type: TypeScript calls an assertion function (fastify.assert) only through typed names.
  const app: FastifyInstance = built.app
  await app.register(sensible)
  app.get('/not-found', (request, reply) => { reply.notFound() })
  app.get('/bad', (request, reply) => { reply.badRequest('The date must be YYYY-MM-DD.') })
  app.get('/conflict', () => { throw app.httpErrors.conflict('That name is taken.') })
  app.get('/slow', (request, reply) => { reply.header('retry-after', '30').tooManyRequests('Slow down.') })
  app.get('/slow-thrown', () => { throw app.httpErrors.createError(429, 'Slow down.', { headers: { 'retry-after': '60', 'x-upstream-secret': 'leak' } }) })
  app.get('/asserted', (request) => { app.assert(request.headers['x-user'], 403, 'Who are you?'); return 'ok' })
  app.get('/by-code', (request, reply) => { reply.getHttpError(410, 'Moved on.') })
  app.get('/down', () => { throw app.httpErrors.serviceUnavailable('db at 10.0.0.7 refused') })
  app.get('/down-exposed', () => { throw app.httpErrors.createError(503, 'Back at 5pm.', { expose: true }) })
  app.get('/cached', (request, reply) => {
    reply.vary('Origin')
    reply.cacheControl('private').cacheControl('max-age', 60)
    reply.notFound('No such report.')
  })
  return built
}

t.test("sensible's errors get the plugin's default responses by status, 4xx messages shown", async (t) => {
  const { app, logs } = await server()
  t.teardown(() => app.close())
  const cases: Array<[string, number, string, string]> = [
    ['/not-found', 404, 'Not Found', 'Not Found'],
    ['/bad', 400, 'Bad Request', 'The date must be YYYY-MM-DD.'],
    ['/conflict', 409, 'Conflict', 'That name is taken.'],
    ['/slow', 429, 'Too Many Requests', 'Slow down.'],
    ['/asserted', 403, 'Forbidden', 'Who are you?'],
    ['/by-code', 410, 'Gone', 'Moved on.']
  ]
  for (const [url, status, error, message] of cases) {
    const res = await app.inject({ url, headers: API })
    t.equal(res.statusCode, status, url)
    t.same(res.json(), { statusCode: status, error, message, requestId: res.json().requestId }, `${url}: Fastify's shape`)
    const page = await app.inject({ url, headers: BROWSER })
    t.equal(page.statusCode, status, `${url} (page)`)
    t.match(page.body, message, `${url}: the page shows the message`)
  }
  t.equal(logs.find((l) => l.msg === 'GET /conflict answered 409')?.level, LEVEL.info)
})

t.test('a sensible 5xx hides its message unless it is exposed', async (t) => {
  const { app, logs } = await server()
  t.teardown(() => app.close())
  const down = await app.inject({ url: '/down', headers: API })
  t.equal(down.statusCode, 503)
  t.equal(down.json().message, 'The service is unavailable right now; try again later.', "http-errors' expose: false for a 5xx")
  t.notMatch(down.body, /10\.0\.0\.7/)
  t.equal(logs.find((l) => l.msg === 'GET /down answered 503')?.err?.message, 'db at 10.0.0.7 refused', 'the log has it')
  const exposed = await app.inject({ url: '/down-exposed', headers: API })
  t.equal(exposed.json().message, 'Back at 5pm.', 'expose: true says the app meant it for clients')
})

t.test('handlers by status answer sensible\'s errors, and pass-through works', async (t) => {
  const { app } = await server()
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.errorhandler(404)((error, request) => { seen.push(error); return `<h1>Nothing at ${request.url}</h1>` })
  app.errorhandler(409)((e) => e)
  app.errorhandler(400)((error, request, reply) => { reply.code(422); return error })

  const missing = await app.inject({ url: '/not-found', headers: BROWSER })
  t.equal(missing.statusCode, 404)
  t.equal(missing.body, '<h1>Nothing at /not-found</h1>')
  t.equal((seen[0] as { status?: number }).status, 404, "the handler receives sensible's own error")
  t.notOk(seen[0] instanceof NotFound, '(not one of ours: the status is the key)')

  const conflict = await app.inject({ url: '/conflict', headers: API })
  t.equal(conflict.statusCode, 409, 'errorhandler(409)((e) => e): the default response for it')
  t.same(conflict.json(), { statusCode: 409, error: 'Conflict', message: 'That name is taken.', requestId: conflict.json().requestId })
  const page = await app.inject({ url: '/conflict', headers: BROWSER })
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /That name is taken\./)

  const bad = await app.inject({ url: '/bad', headers: API })
  t.equal(bad.statusCode, 400, "a passed-through error is answered with its own status (Flask's pass-through renders the exception)")
})

t.test('a class key answers sensible\'s error of that status too (404 is NotFound)', async (t) => {
  const { app } = await server()
  t.teardown(() => app.close())
  app.errorhandler(NotFound)(() => ({ where: 'nowhere' }))
  const res = await app.inject({ url: '/not-found', headers: API })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { where: 'nowhere' })
})

t.test('headers set before the error stay: Retry-After, reply.vary, reply.cacheControl', async (t) => {
  const { app } = await server()
  t.teardown(() => app.close())
  const slow = await app.inject({ url: '/slow', headers: API })
  t.equal(slow.statusCode, 429)
  t.equal(slow.headers['retry-after'], '30', 'set on the reply before reply.tooManyRequests()')

  const thrown = await app.inject({ url: '/slow-thrown', headers: API })
  t.equal(thrown.statusCode, 429)
  t.equal(thrown.headers['retry-after'], '60', "Retry-After from the error's own headers")
  t.equal(thrown.headers['x-upstream-secret'], undefined, 'other headers of a foreign error are not copied (set them on the reply instead)')

  const cached = await app.inject({ url: '/cached', headers: BROWSER })
  t.equal(cached.statusCode, 404)
  t.equal(cached.headers.vary, 'Origin, Accept', "sensible's Vary kept, Accept appended")
  t.equal(cached.headers['cache-control'], 'private, max-age=60', "sensible's Cache-Control kept")
  t.match(cached.body, /No such report\./)
})
