/**
 * lib/dispatch.ts next to what other code already did to the reply: headers and statuses another
 * plugin or the route set before the error, results handlers hand back (pass-through, unreadable
 * values), and which error is reported for each way a response gets made.
 */
import t from 'tap'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import createHttpError from 'http-errors'
import view from '@fastify/view'
import ejs from 'ejs'
import flaskErrors, { Gone, InternalServerError, NotFound, type HandlerResult } from '../index.js'
import type { ErrorReport } from '../index.js'
import { build, API, BROWSER, LEVEL, within } from './helpers.js'

const views = new URL('../examples/views/', import.meta.url).pathname

/** The reports of an app, in the order they ran. */
function collector (): { reports: ErrorReport[], report: (r: ErrorReport) => void } {
  const reports: ErrorReport[] = []
  return { reports, report: (r) => { reports.push(r) } }
}

/** Lets reporters (started after the response, on a later turn) run. */
async function settle (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20))
}

t.test('Vary: another plugin\'s fields are kept and Accept is appended once', async (t) => {
  const { app } = await build()
  app.get('/origin', (request, reply) => { reply.header('vary', 'Origin'); reply.abort(404) })
  app.get('/both', (request, reply) => { reply.header('vary', 'origin, accept'); reply.abort(404) })
  app.get('/star', (request, reply) => { reply.header('vary', '*'); reply.abort(404) })
  app.get('/list', (request, reply) => { reply.header('vary', ['Origin', 'Cookie']); reply.abort(404) })
  app.get('/list-with-accept', (request, reply) => { reply.header('vary', ['Origin', 'Accept']); reply.abort(404) })
  app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    api.get('/origin', (request, reply) => { reply.header('vary', 'Origin'); reply.abort(404) })
  }, { prefix: '/api' })
  for (const headers of [API, BROWSER]) {
    t.equal((await app.inject({ url: '/origin', headers })).headers.vary, 'Origin, Accept', 'appended, not replaced')
    t.equal((await app.inject({ url: '/both', headers })).headers.vary, 'origin, accept', 'listed already: unchanged')
    t.equal((await app.inject({ url: '/star', headers })).headers.vary, '*', 'Vary: * already covers Accept')
    t.equal((await app.inject({ url: '/list', headers })).headers.vary, 'Origin, Cookie, Accept', 'a list set as an array: joined, Accept appended')
    t.same((await app.inject({ url: '/list-with-accept', headers })).headers.vary, ['Origin', 'Accept'], 'a list that names Accept: unchanged')
  }
  t.equal((await app.inject({ url: '/api/origin', headers: BROWSER })).headers.vary, 'Origin', 'a forced format adds nothing and keeps Origin')
  await app.close()
})

t.test('headers the route set before it failed stay, except those that describe its own body', async (t) => {
  const { app } = await build()
  app.get('/gzip', (request, reply) => {
    // A route that was about to send a gzipped body, then failed.
    reply.header('content-encoding', 'gzip').header('content-length', String(gzipSync('hello').length)).header('x-request-tag', 'kept')
    reply.abort(503, 'Back soon')
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const res = await within(fetch(`${address}/gzip`, { headers: API }))
  t.equal(res.status, 503)
  t.equal(res.headers.get('content-encoding'), null, 'no Content-Encoding on the error body')
  t.equal(res.headers.get('x-request-tag'), 'kept', 'any other header already on the reply stays')
  t.same(await within(res.json()), { statusCode: 503, error: 'Service Unavailable', message: 'Back soon', requestId: 'req-1' }, 'the body decodes')
})

t.test('an exception whose headers are not a plain object goes out without them', async (t) => {
  const { app } = await build()
  app.get('/null', () => { throw Object.defineProperty(new Gone(), 'headers', { value: null }) })
  app.get('/map', () => { throw Object.defineProperty(new Gone(), 'headers', { value: new Map([['x-a', '1']]) }) })
  for (const url of ['/null', '/map']) {
    const res = await app.inject({ url, headers: API })
    t.equal(res.statusCode, 410, url)
    t.notOk('x-a' in res.headers, `${url}: nothing read from it`)
  }
  await app.close()
})

t.test('every error response says nosniff, handlers\' own included', async (t) => {
  const { app } = await build()
  app.errorhandler(409)(() => ({ conflict: true }))
  app.get('/json', (request, reply) => reply.abort(404))
  app.get('/handled', (request, reply) => reply.abort(409))
  for (const url of ['/json', '/handled', '/unknown']) {
    t.equal((await app.inject({ url, headers: API })).headers['x-content-type-options'], 'nosniff', url)
  }
  await app.close()
})

t.test('a status-less error on a reply whose status another plugin set answers that status', async (t) => {
  const { reports, report } = collector()
  const { app, logs } = await build({ report, reportWhen: [401, 500, 503] })
  // @fastify/auth's shape: reply.code(401), then a plain Error.
  app.get('/auth', (request, reply) => { reply.code(401); throw new Error('missing token') })
  // @fastify/under-pressure's shape: a 503 with an error of its own.
  app.get('/pressure', (request, reply) => { reply.code(503); throw new Error('event loop delay 1200 ms') })
  // Not an error, or a message that is not text: the status's generic text.
  app.get('/string', (request, reply) => { reply.code(400); throw 'bad input' }) // eslint-disable-line no-throw-literal
  app.get('/numeric', (request, reply) => { reply.code(400); throw Object.defineProperty(new Error('x'), 'message', { value: 42 }) })
  // A message that cannot be read: the status's generic text, and the answer still goes out.
  app.get('/unreadable', (request, reply) => {
    reply.code(403)
    throw Object.defineProperty(new Error('x'), 'message', { get () { throw new Error('message getter') } })
  })
  app.register(async (child) => {
    child.errorhandler(401)((error) => ({ handled: (error as Error).message }))
    child.get('/handled', (request, reply) => { reply.code(401); throw new Error('bad token') })
  })

  const auth = await app.inject({ url: '/auth', headers: API })
  t.equal(auth.statusCode, 401)
  t.same(auth.json(), { statusCode: 401, error: 'Unauthorized', message: 'missing token', requestId: auth.json().requestId }, 'a 4xx shows its message')
  const pressure = await app.inject({ url: '/pressure', headers: API })
  t.equal(pressure.statusCode, 503)
  t.equal(pressure.json().message, 'The service is unavailable right now; try again later.', 'a 5xx hides its message')
  const handled = await app.inject({ url: '/handled', headers: API })
  t.same(handled.json(), { handled: 'bad token' }, 'the 401 handler receives the plain error')
  t.equal(handled.statusCode, 401)

  for (const url of ['/string', '/numeric']) {
    const res = await app.inject({ url, headers: API })
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().message, 'The request could not be understood by the server.', `${url}: the generic 400 text`)
  }
  const unreadable = await app.inject({ url: '/unreadable', headers: API })
  t.equal(unreadable.statusCode, 403)
  t.equal(unreadable.json().message, 'You are not allowed to access this.', 'the generic 403 text')
  const authLine = logs.find((l) => l.msg === 'GET /auth answered 401')
  t.equal(authLine?.level, LEVEL.info, 'logged as the 4xx it is')
  await settle()
  t.same(reports.map((r) => [r.status, (r.error as Error).message]), [[401, 'missing token'], [503, 'event loop delay 1200 ms'], [401, 'bad token']], 'reported by that status, with the original error')
  t.equal(reports.filter((r) => r.status === 500).length, 0, 'never as a 500')
  await app.close()
})

t.test("Flask's pass-through works for any error with a status a handler returns", async (t) => {
  const { app } = await build()
  // Fastify's own 415 (a FastifyError, not one of ours), handed back as it came.
  app.errorhandler(415)((error) => error)
  // A handler that answers with another error that has a status.
  app.errorhandler(409)(() => createHttpError(422, 'Fix the form'))
  // Our exceptions pass through as before.
  app.errorhandler(Gone)(() => new NotFound('Moved away'))
  app.post('/upload', async () => 'ok')
  app.get('/conflict', (request, reply) => reply.abort(409))
  app.get('/gone', (request, reply) => reply.abort(410))

  const unsupported = await app.inject({ method: 'POST', url: '/upload', headers: { ...API, 'content-type': 'application/x-nothing' }, payload: 'x' })
  t.equal(unsupported.statusCode, 415)
  t.equal(unsupported.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', "Fastify's own error, rendered by the default response")
  const conflict = await app.inject({ url: '/conflict', headers: API })
  t.equal(conflict.statusCode, 422)
  t.equal(conflict.json().message, 'Fix the form')
  const page = await app.inject({ url: '/gone', headers: BROWSER })
  t.equal(page.statusCode, 404)
  t.match(page.body, /Moved away/)
  await app.close()
})

t.test('reporting follows the error, not the way the page was made', async (t) => {
  await t.test('a 500 handler that sends the reply itself is reported once', async (t) => {
    const { reports, report } = collector()
    const { app, logs } = await build({ report })
    await app.register(view, { engine: { ejs }, root: views })
    app.errorhandler(500)((error, request, reply) => reply.view('errors/500.ejs', { error, status: 500, name: 'Internal Server Error', description: 'Sorry', path: request.url, requestId: request.id, debug: false }))
    app.register(async (child) => {
      child.errorhandler(500)((error, request, reply) => { reply.code(500).send('<h1>Sorry</h1>') })
      child.get('/sent', () => { throw new Error('database down') })
    })
    app.get('/viewed', () => { throw new Error('disk full') })
    const viewed = await app.inject({ url: '/viewed', headers: BROWSER })
    t.equal(viewed.statusCode, 500)
    const sent = await app.inject({ url: '/sent', headers: BROWSER })
    t.equal(sent.body, '<h1>Sorry</h1>')
    await settle()
    t.same(reports.map((r) => [r.status, (r.error as Error).message, r.count]), [[500, 'disk full', 1], [500, 'database down', 1]])
    t.equal(logs.filter((l) => l.level === LEVEL.error && /answered 500/.test(l.msg)).length, 2, 'each logged once')
    await app.close()
  })

  await t.test('a 500 handler that streams its page is reported once the response is done', async (t) => {
    const { reports, report } = collector()
    const { app } = await build({ report })
    app.errorhandler(500)((error, request, reply) => {
      reply.code(500).type('text/html').send(Readable.from((async function * () {
        yield '<h1>'
        await new Promise((resolve) => setTimeout(resolve, 30))
        yield 'Sorry</h1>'
      })()))
    })
    app.get('/crash', () => { throw new Error('slow page') })
    const res = await app.inject({ url: '/crash', headers: BROWSER })
    t.equal(res.body, '<h1>Sorry</h1>')
    await settle()
    t.same(reports.map((r) => [r.status, (r.error as Error).message]), [[500, 'slow page']], 'reported once, with the status sent')
    await app.close()
  })

  await t.test('a failing handler is reported as a 500 made of its own failure and of the error it handled', async (t) => {
    const { reports, report } = collector()
    const { app } = await build({ report })
    const failure = new TypeError('template variable missing')
    app.errorhandler(404)(() => { throw failure })
    app.get('/missing', (request, reply) => reply.abort(404, 'No such post'))
    const res = await app.inject({ url: '/missing', headers: API })
    t.equal(res.statusCode, 500)
    await settle()
    t.equal(reports.length, 1, 'one report')
    const reported = reports[0].error as InternalServerError
    t.ok(reported instanceof InternalServerError, 'a 500')
    t.equal(reported.originalError, failure, 'whose originalError is the handler\'s own failure')
    t.ok(reported.cause instanceof NotFound, 'and whose cause is the 404 it was handling')
    t.equal((reported.cause as NotFound).description, 'No such post')
    await app.close()
  })

  await t.test('a reply.view that fails in a handler reports the failure, not the page it tried', async (t) => {
    const { reports, report } = collector()
    const { app } = await build({ report })
    await app.register(view, { engine: { ejs }, root: views })
    app.errorhandler(500)((error, request, reply) => reply.view('errors/no-such-page.ejs'))
    app.get('/crash', () => { throw new Error('first') })
    const res = await app.inject({ url: '/crash', headers: BROWSER })
    t.equal(res.statusCode, 500)
    await settle()
    t.equal(reports.length, 1, 'reported once')
    t.ok(reports[0].error instanceof InternalServerError)
    t.match(String(((reports[0].error as InternalServerError).originalError as Error).message), /no-such-page/, 'the render failure')
    t.equal(((reports[0].error as InternalServerError).cause as Error).message, 'first')
    await app.close()
  })

  await t.test('the preview route reports nothing', async (t) => {
    const { reports, report } = collector()
    const { app } = await build({ report, preview: '/_errors' })
    app.get('/real', () => { throw new Error('real') })
    for (const status of [500, 503]) t.equal((await app.inject({ url: `/_errors/${status}`, headers: BROWSER })).statusCode, status)
    await app.inject('/real')
    await settle()
    t.same(reports.map((r) => (r.error as Error).message), ['real'], 'only the real error')
    await app.close()
  })
})

t.test('a handler result that cannot be read is a handler failure: the 500 handler answers, hooks run', async (t) => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  const hostile = (): Gone => Object.defineProperty(new Gone(), 'headers', { get () { throw new Error('headers getter') } })
  const results: Record<string, () => HandlerResult> = {
    'then-getter': () => Object.defineProperty({}, 'then', { get () { throw new Error('then getter') } }),
    'then-throws': () => ({ then () { throw new Error('then threw') } }),
    'revoked-proxy': () => proxy,
    'array-getter': () => Object.defineProperty(['body', 404], 1, { get () { throw new Error('index getter') } }),
    'hostile-exception': hostile
  }
  const { app } = await build()
  let sends = 0
  app.addHook('onSend', async (request, reply, payload) => { sends++; return payload })
  app.errorhandler(500)(() => ['<h1>Our 500</h1>', 500])
  for (const [name, result] of Object.entries(results)) {
    app.register(async (child) => {
      child.errorhandler(404)(result)
      child.get(`/${name}`, (request, reply) => reply.abort(404))
    })
  }
  for (const name of Object.keys(results)) {
    const before = sends
    const res = await within(app.inject({ url: `/${name}`, headers: BROWSER }))
    if (name === 'hostile-exception') {
      // Its headers are unreadable, so it goes out without them: the pass-through still answers.
      t.equal(res.statusCode, 410, `${name}: passed through`)
    } else {
      t.equal(res.statusCode, 500, name)
      t.equal(res.body, '<h1>Our 500</h1>', `${name}: the app's 500 handler answers, as HTML`)
    }
    t.equal(sends, before + 1, `${name}: onSend hooks ran`)
  }
  await app.close()
})

t.test('a handler that sends its own page behind an async onSend hook is answered by that page, once', async (t) => {
  // An async onSend hook (as @fastify/compress has) keeps the response on its way after reply.send returns.
  const { reports, report } = collector()
  const { app, logs } = await build({ report })
  app.addHook('onSend', async (request, reply, payload) => payload)
  app.errorhandler(500)((error, request, reply) => { reply.code(500).send('<h1>Sorry</h1>') })
  app.get('/crash', () => { throw new Error('boom') })
  const res = await app.inject({ url: '/crash', headers: BROWSER })
  t.equal(res.statusCode, 500)
  t.equal(res.body, '<h1>Sorry</h1>')
  await settle()
  t.same(reports.map((r) => (r.error as Error).message), ['boom'], 'reported once')
  t.same(logs.filter((l) => l.level >= LEVEL.warn).map((l) => l.msg), ['GET /crash answered 500'], 'no failure, no "already sent" warning')
  await app.close()
})

t.test('a single-valued header given as a list is refused with a warning; the response still goes out', async (t) => {
  const { app, logs } = await build()
  app.errorhandler(409)(() => ['conflict', 409, { 'content-type': ['/'], 'retry-after': ['1', '2'], 'x-list': ['a', 'b'] }])
  app.get('/save', (request, reply) => reply.abort(409))
  const res = await app.inject({ url: '/save', headers: API })
  t.equal(res.statusCode, 409)
  t.equal(res.body, 'conflict')
  t.match(res.headers['content-type'], /^text\/html/, "the body's own type")
  t.notOk('retry-after' in res.headers)
  t.same(res.headers['x-list'], ['a', 'b'], 'a list header that may repeat is kept')
  t.same(logs.filter((l) => l.level === LEVEL.warn).map((l) => l.headers), [['content-type', 'retry-after']])
})

t.test("a foreign error's WWW-Authenticate goes out on the app's own 401, never from an upstream's response", async (t) => {
  const { app } = await build()
  // An app's own 401 from a library (http-errors' shape): its challenge belongs to the answer.
  app.get('/own', () => { throw createHttpError(401, 'Sign in', { headers: { 'WWW-Authenticate': 'Basic realm="app"' } }) })
  // An HTTP client's error carrying the upstream's whole response headers.
  const upstream = Object.assign(new Error('upstream said 401'), {
    statusCode: 401,
    headers: { date: 'Tue, 01 Dec 2026 10:00:00 GMT', 'content-type': 'text/html', 'set-cookie': 'upstream=1', 'www-authenticate': 'Basic realm="internal-billing"' }
  })
  app.get('/upstream', () => { throw upstream })
  // A challenge on anything but a 401 is not the answer's either.
  app.get('/forbidden', () => { throw createHttpError(403, 'No', { headers: { 'WWW-Authenticate': 'Basic realm="app"' } }) })
  t.equal((await app.inject({ url: '/own', headers: API })).headers['www-authenticate'], 'Basic realm="app"')
  const res = await app.inject({ url: '/upstream', headers: API })
  t.equal(res.statusCode, 401)
  t.notOk('www-authenticate' in res.headers, "the upstream's realm is not sent")
  t.notOk('set-cookie' in res.headers, "nor the upstream's cookie")
  t.notOk('www-authenticate' in (await app.inject({ url: '/forbidden', headers: API })).headers)
})
