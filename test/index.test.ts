/**
 * index.ts: the wiring — decorators, refusals at registration, per-context options, reply.abort,
 * frameworkErrors, and the plugin's metadata.
 */
import t from 'tap'
import Fastify from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import flaskErrors, {
  FFE_INVALID_HANDLER, FFE_INVALID_KEY, FFE_INVALID_OPTION, HTTPException, NotFound, frameworkErrors
} from '../index.js'
import { build, API, BROWSER, LEVEL } from './helpers.js'

t.test('the plugin is a fastify-plugin named fastify-flask-errors for Fastify 5', async (t) => {
  const meta = (flaskErrors as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.equal(meta.name, 'fastify-flask-errors')
  t.equal(meta.fastify, '5.x')
  const { app } = await build()
  t.ok(app.hasDecorator('errorhandler'))
  t.ok(app.hasDecorator('register_error_handler'))
  t.ok(app.hasDecorator('registerErrorHandler'))
  t.ok(app.hasReplyDecorator('abort'))
})

t.test('errorhandler(key)(handler) returns the handler; both method forms register', async (t) => {
  const { app } = await build()
  const handler = (): string => 'decorated'
  t.equal(app.errorhandler(410)(handler), handler)
  app.register_error_handler(409, () => 'snake')
  app.registerErrorHandler(NotFound, () => 'camel')
  app.get('/410', (request, reply) => reply.abort(410))
  app.get('/409', (request, reply) => reply.abort(409))
  app.get('/404', (request, reply) => reply.abort(404))
  t.equal((await app.inject('/410')).body, 'decorated')
  t.equal((await app.inject('/409')).body, 'snake')
  t.equal((await app.inject('/404')).body, 'camel')
})

t.test('bad registrations throw at once with a message that says the fix', async (t) => {
  const { app } = await build()
  t.throws(() => app.errorhandler(200), FFE_INVALID_KEY)
  t.throws(() => app.errorhandler(600), { message: /400–599/ })
  t.throws(() => app.errorhandler(599), { message: /extends HTTPException \{ static code = 599 \}/ })
  t.throws(() => app.errorhandler(new NotFound() as unknown as typeof NotFound), { message: /register the class itself, e\.g\. errorhandler\(NotFound\)/ })
  t.throws(() => app.register_error_handler(404, 'nope' as unknown as () => void), FFE_INVALID_HANDLER)
  t.throws(() => app.registerErrorHandler(404, null as unknown as () => void), { message: /must be a function/ })
  t.throws(() => app.errorhandler((() => {}) as unknown as typeof Error), { message: /not an arrow function/ })
})

t.test('reply.abort throws the status class; the thrown error reaches the handlers', async (t) => {
  const { app } = await build()
  let caught: unknown
  app.get('/', (request, reply) => {
    try {
      reply.abort(418, 'short and stout')
    } catch (error) {
      caught = error
      throw error
    }
  })
  const res = await app.inject({ url: '/', headers: API })
  t.equal(res.statusCode, 418)
  t.equal(res.json().message, 'short and stout')
  t.type(caught, HTTPException)
  t.equal(String(caught), "418 I'm a Teapot: short and stout")
})

t.test('per-context options: registering the plugin again inside a context', async (t) => {
  const { app } = await build()
  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    api.get('/gone', (request, reply) => reply.abort(410))
  }, { prefix: '/api' })
  await app.register(async (pages) => {
    await pages.register(flaskErrors, { format: 'html' })
    pages.get('/gone', (request, reply) => reply.abort(410))
  }, { prefix: '/pages' })
  app.get('/gone', (request, reply) => reply.abort(410))

  const api = await app.inject({ url: '/api/gone', headers: BROWSER })
  t.match(api.headers['content-type'], /application\/json/, 'a json context answers JSON even to a browser')
  t.notOk('vary' in api.headers, 'a forced format does not vary on Accept')
  const pages = await app.inject({ url: '/pages/gone', headers: API })
  t.match(pages.headers['content-type'], /text\/html/)
  const site = await app.inject({ url: '/gone', headers: BROWSER })
  t.match(site.headers['content-type'], /text\/html/, 'the rest of the site negotiates')
  t.equal(site.headers.vary, 'Accept')
})

t.test('per-context options are validated; app-wide ones are refused in a context', async (t) => {
  const app = Fastify()
  await t.rejects(async () => { await app.register(flaskErrors, { format: 'xml' as 'json' }) }, FFE_INVALID_OPTION)
  const app2 = Fastify()
  await app2.register(flaskErrors)
  await t.rejects(async () => {
    await app2.register(async (child) => { await child.register(flaskErrors, { report: () => {} }) })
  }, { message: /report can only be set where the plugin is first registered/ })
})

t.test('log levels per context: 4xx and routing 404s', async (t) => {
  const { app, logs } = await build({ logLevel: 'warn', notFoundLogLevel: 'silent' })
  app.get('/bad', (request, reply) => reply.abort(400))
  app.get('/crash', async () => { throw new Error('boom') })
  await app.inject('/bad')
  await app.inject('/unknown')
  await app.inject('/crash')
  const lines = logs.filter((l) => /answered/.test(l.msg))
  t.same(lines.map((l) => [l.level, l.msg]), [
    [LEVEL.warn, 'GET /bad answered 400'],
    [LEVEL.error, 'GET /crash answered 500']
  ], 'routing 404 silent, 4xx at warn, 5xx at error')
  t.equal(lines[1].err?.message, 'boom', 'the original error is serialised')
  t.ok(lines.every((l) => typeof l.reqId === 'string'), 'every line carries the request id')
})

t.test('a line below the logger level is not built at all', async (t) => {
  const { app, logs } = await build({}, { logger: { level: 'warn' } })
  t.equal(logs.length, 0)
  t.equal(app.log.level, 'warn')
  app.get('/bad', (request, reply) => reply.abort(400))
  app.get('/crash', async () => { throw new Error('boom') })
  await app.inject('/bad')
  await app.inject('/crash')
  t.same(logs.map((l) => l.msg), ['GET /crash answered 500'])
})

t.test('a logger that says a level is off is not called for it (the line is not built)', async (t) => {
  // pino drops a disabled line by itself, so the test above cannot tell whether it was built: this
  // logger records every call, and says only warn and above are on.
  const calls: Array<{ level: string, msg: unknown }> = []
  const on = new Set(['warn', 'error', 'fatal'])
  const record = (level: string) => (object: unknown, msg?: unknown): void => { calls.push({ level, msg }) }
  const logger = {
    level: 'warn',
    isLevelEnabled: (level: string) => on.has(level),
    child: () => logger,
    fatal: record('fatal'),
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    trace: record('trace'),
    silent: () => {}
  }
  const app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger })
  await app.register(flaskErrors)
  app.get('/bad', (request, reply) => reply.abort(400))
  app.get('/crash', async () => { throw new Error('boom') })
  await app.inject('/bad')
  await app.inject('/missing')
  await app.inject('/crash')
  const ours = calls.filter((call) => typeof call.msg === 'string' && call.msg.includes(' answered '))
  t.same(ours, [{ level: 'error', msg: 'GET /crash answered 500' }])
})

t.test('frameworkErrors routes malformed URLs into the handlers', async (t) => {
  const { app } = await build({}, { frameworkErrors })
  app.errorhandler(400)((error) => ['bad url: ' + String(error.code), 400])
  app.get('/:param', async () => 'ok')
  const res = await app.inject('/%c0')
  t.equal(res.statusCode, 400)
  t.equal(res.body, 'bad url: FST_ERR_BAD_URL')

  const { app: site } = await build({}, { frameworkErrors })
  site.get('/:param', async () => 'ok')
  await site.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    api.get('/:param', async () => 'ok')
  }, { prefix: '/api' })
  const underApi = await site.inject({ url: '/api/%c0', headers: BROWSER })
  t.equal(underApi.statusCode, 400)
  t.match(underApi.headers['content-type'], /application\/json/, 'the /api prefix answers its malformed URLs in its own format')
  const lookalike = await site.inject({ url: '/apix/%c0', headers: BROWSER })
  t.match(lookalike.headers['content-type'], /text\/html/, '/apix is not under /api: the site negotiates')

  const bare = Fastify({ frameworkErrors })
  bare.get('/:param', async () => 'ok')
  const plain = await bare.inject('/%c0')
  t.equal(plain.statusCode, 400, 'without the plugin, Fastify answers as usual')
})
