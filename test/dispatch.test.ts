/**
 * lib/dispatch.ts through fastify.inject: lookup phases and scope order, every handler-result
 * form, status and header rules, failing handlers, thrown non-errors, foreign errors.
 */
import t from 'tap'
import { Readable } from 'node:stream'
import createHttpError from 'http-errors'
import sensible from '@fastify/sensible'
import {
  HTTPException, NotFound, Gone, InternalServerError, MethodNotAllowed, TooManyRequests, abort, type HandlerResult
} from '../index.js'
import { build, BROWSER, API, LEVEL } from './helpers.js'

class InvalidAPIUsage extends Error {
  statusCode = 400
  constructor (message: string, readonly payload: Record<string, unknown> = {}) { super(message) }
  toDict (): Record<string, unknown> { return { ...this.payload, message: this.message } }
}
class UserNotFound extends NotFound {}
class ConnectionError extends Error {}
class ConnectionRefusedError extends ConnectionError {}

t.test('an exception handed to reply.send, without a throw, is answered as an abort', async (t) => {
  // The non-throwing form the README offers for hot error paths: Fastify's error path, so the same
  // handlers, onError hooks, negotiation and log lines as `reply.abort`.
  const { app, logs } = await build()
  const hooked: unknown[] = []
  app.addHook('onError', async (request, reply, error) => { hooked.push(error) })
  app.errorhandler(Gone)((error) => ({ handled: (error as Gone).description }))
  app.get('/sent', (request, reply) => { reply.send(new Gone('sent, not thrown')) })
  app.get('/returned', async (request, reply) => await reply.send(new NotFound()))
  app.get('/thrown', (request, reply) => reply.abort(404))

  const sent = await app.inject('/sent')
  t.equal(sent.statusCode, 410)
  t.same(sent.json(), { handled: 'sent, not thrown' }, 'the class handler ran')
  t.equal(hooked.length, 1, 'the onError hook saw it')
  t.ok(hooked[0] instanceof Gone)

  for (const headers of [API, BROWSER]) {
    const returned = await app.inject({ url: '/returned', headers })
    const thrown = await app.inject({ url: '/thrown', headers })
    t.equal(returned.statusCode, 404)
    t.equal(returned.headers['content-type'], thrown.headers['content-type'], `the same negotiated type for ${headers.accept}`)
    t.equal(returned.body.replace(/req-\d+/g, 'req'), thrown.body.replace(/req-\d+/g, 'req'), 'the same default body')
  }
  const answered = (path: string): number => logs.filter((line) => line.msg === `GET ${path} answered 404`).length
  t.equal(answered('/returned'), 2, 'logged as an abort is')
  t.equal(answered('/thrown'), 2)
})

t.test('lookup phases', async (t) => {
  t.test('a specific class beats the status handler, and its subclass chain is walked most specific first', async (t) => {
    const { app } = await build()
    app.errorhandler(404)(() => 'status')
    app.errorhandler(UserNotFound)(() => 'class')
    app.errorhandler(ConnectionError)(() => ['parent class', 503])
    app.errorhandler(ConnectionRefusedError)(() => ['child class', 503])
    app.get('/user', () => { throw new UserNotFound() })
    app.get('/plain', () => abort(404))
    app.get('/refused', () => { throw new ConnectionRefusedError() })
    app.get('/conn', () => { throw new ConnectionError() })
    t.equal((await app.inject('/user')).body, 'class')
    t.equal((await app.inject('/plain')).body, 'status')
    t.equal((await app.inject('/refused')).body, 'child class')
    t.equal((await app.inject('/conn')).body, 'parent class')
  })

  t.test('string error codes come before statuses, generic classes last', async (t) => {
    const { app } = await build()
    app.errorhandler('ECONNREFUSED')((error) => ['code ' + error.code, 502])
    app.errorhandler(400)(() => ['status 400', 400])
    app.errorhandler(HTTPException)((error) => ['http ' + String(error.code), error.code])
    app.errorhandler(Error)(() => ['error', 500])
    app.get('/code', () => { throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) })
    app.get('/coded-400', () => { throw Object.assign(new Error('bad'), { code: 'SOMETHING', statusCode: 400 }) })
    app.get('/gone', () => abort(410))
    app.get('/raw', () => { throw new Error('raw') })
    t.equal((await app.inject('/code')).body, 'code ECONNREFUSED')
    t.equal((await app.inject('/coded-400')).body, 'status 400')
    t.equal((await app.inject('/gone')).body, 'http 410')
    const raw = await app.inject('/raw')
    t.equal(raw.body, 'error', 'an Error handler receives raw errors before they become 500s')
    t.equal(raw.statusCode, 500)
  })

  t.test('HTTPException handler sees only HTTP exceptions; Error sees foreign status errors', async (t) => {
    const { app } = await build()
    app.errorhandler(HTTPException)(() => ['http', 418])
    app.errorhandler(Error)(() => ['error', 400])
    app.get('/foreign', () => { throw createHttpError(409, 'conflict') })
    app.get('/ours', () => abort(409))
    t.equal((await app.inject('/foreign')).body, 'error')
    t.equal((await app.inject('/ours')).body, 'http')
  })

  t.test('a value without status and without handler becomes a 500 looked up by status', async (t) => {
    const { app } = await build()
    let received: unknown
    app.errorhandler(500)((error) => {
      received = error
      return ['<h1>Oops</h1>', 500]
    })
    app.get('/', () => { throw new ConnectionError('db down') })
    const res = await app.inject('/')
    t.equal(res.statusCode, 500)
    t.equal(res.body, '<h1>Oops</h1>')
    t.type(received, InternalServerError)
    t.type((received as InternalServerError).originalError, ConnectionError, 'nothing is lost: originalError is the thrown value')
  })
})

t.test('scope order', async (t) => {
  t.test('a root 404 handler beats a child HTTPException handler (Flask)', async (t) => {
    const { app } = await build()
    app.errorhandler(404)(() => 'root 404')
    await app.register(async (child) => {
      child.errorhandler(HTTPException)(() => 'child http')
      child.get('/missing', () => abort(404))
      child.get('/gone', () => abort(410))
    }, { prefix: '/child' })
    t.equal((await app.inject('/child/missing')).body, 'root 404')
    t.equal((await app.inject('/child/gone')).body, 'child http')
  })

  t.test("a child's specific class beats the root's, and the root's beats nothing", async (t) => {
    const { app } = await build()
    app.errorhandler(InvalidAPIUsage)(() => 'root class')
    await app.register(async (child) => {
      child.errorhandler(InvalidAPIUsage)(() => 'child class')
      child.get('/x', () => { throw new InvalidAPIUsage('bad') })
    }, { prefix: '/api' })
    app.get('/x', () => { throw new InvalidAPIUsage('bad') })
    t.equal((await app.inject('/api/x')).body, 'child class')
    t.equal((await app.inject('/x')).body, 'root class')
  })

  t.test('sibling contexts do not see each other', async (t) => {
    const { app } = await build()
    await app.register(async (a) => {
      a.errorhandler(410)(() => 'a')
      a.get('/gone', () => abort(410))
    }, { prefix: '/a' })
    await app.register(async (b) => {
      b.get('/gone', () => abort(410))
    }, { prefix: '/b' })
    t.equal((await app.inject('/a/gone')).body, 'a')
    t.equal((await app.inject({ url: '/b/gone', headers: API })).json().statusCode, 410)
  })

  t.test('registrations after ready() still take effect', async (t) => {
    const { app } = await build()
    app.get('/gone', () => abort(410))
    await app.ready()
    app.errorhandler(410)(() => 'late')
    t.equal((await app.inject('/gone')).body, 'late')
  })

  t.test('the handler runs with this = the registering context', async (t) => {
    const { app } = await build()
    await app.register(async (child) => {
      child.decorate('where', 'child')
      child.errorhandler(410)(function () { return (this as unknown as { where: string }).where })
      child.get('/gone', () => abort(410))
    })
    t.equal((await app.inject('/gone')).body, 'child')
  })
})

t.test('handler results', async (t) => {
  const { app } = await build()
  const routes: Record<string, (reply: any) => HandlerResult> = {
    string: () => '<p>gone</p>',
    object: () => ({ gone: true }),
    array: () => [1, 2, 3, 4],
    'tuple-status': () => ['teapot', 418],
    'tuple-headers': () => ['with header', { 'x-extra': 'yes' }],
    'tuple-both': () => [{ a: 1 }, 451, { 'x-extra': 'both' }],
    buffer: () => Buffer.from('bytes'),
    stream: () => Readable.from(['str', 'eam']),
    'http-exception': () => new Gone('Gone for good, by handler'),
    'sent-itself': (reply) => { reply.code(299).send('sent') },
    'code-set': (reply) => { reply.code(451); return 'set by reply.code' },
    async: async () => { await new Promise((resolve) => setTimeout(resolve, 5)); return ['later', 410] },
    'type-set': (reply) => { reply.type('text/plain'); return 'plain text' },
    'tuple-shaped-json': () => [[1, 2], { not: 'headers' }, 'third']
  }
  for (const name of Object.keys(routes)) {
    app.register(async (child) => {
      child.errorhandler(410)((error, request, reply) => routes[name](reply))
      child.get(`/${name}`, () => abort(410))
    })
  }
  await app.ready()

  const string = await app.inject('/string')
  t.equal(string.statusCode, 410, 'the error status, never 200')
  t.equal(string.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(string.body, '<p>gone</p>')

  const object = await app.inject('/object')
  t.equal(object.headers['content-type'], 'application/json; charset=utf-8')
  t.same(object.json(), { gone: true })
  t.same((await app.inject('/array')).json(), [1, 2, 3, 4], 'a 4-item array is JSON, not a tuple')

  const teapot = await app.inject('/tuple-status')
  t.equal(teapot.statusCode, 418)
  t.equal(teapot.body, 'teapot')
  const headers = await app.inject('/tuple-headers')
  t.equal(headers.statusCode, 410)
  t.equal(headers.headers['x-extra'], 'yes')
  const both = await app.inject('/tuple-both')
  t.equal(both.statusCode, 451)
  t.equal(both.headers['x-extra'], 'both')
  t.same(both.json(), { a: 1 })

  t.equal((await app.inject('/buffer')).body, 'bytes')
  t.equal((await app.inject('/stream')).body, 'stream')

  const passed = await app.inject({ url: '/http-exception', headers: API })
  t.equal(passed.statusCode, 410)
  t.equal(passed.json().message, 'Gone for good, by handler')

  const sent = await app.inject('/sent-itself')
  t.equal(sent.statusCode, 299)
  t.equal(sent.body, 'sent')
  const code = await app.inject('/code-set')
  t.equal(code.statusCode, 451, 'status set with reply.code() wins over the error status')
  const later = await app.inject('/async')
  t.equal(later.statusCode, 410)
  t.equal(later.body, 'later')
  const plain = await app.inject('/type-set')
  t.equal(plain.headers['content-type'], 'text/plain', 'a content type the handler set is kept')
  const shaped = await app.inject('/tuple-shaped-json')
  t.same(shaped.json(), [[1, 2], { not: 'headers' }, 'third'], 'a 3-item array whose second is not a status is JSON')
})

t.test('a non-HTTP error answered with a body and no status is a 500, not Flask\'s 200', async (t) => {
  const { app } = await build()
  app.errorhandler(ConnectionError)(() => 'connection problem')
  app.get('/', () => { throw new ConnectionError() })
  const res = await app.inject('/')
  t.equal(res.statusCode, 500)
  t.equal(res.body, 'connection problem')
})

t.test('headers the error carries are kept unless the handler sets them', async (t) => {
  const { app } = await build()
  app.errorhandler(429)((error, request, reply) => {
    reply.header('x-handled', '1')
    return 'slow down'
  })
  app.errorhandler(405)((error, request, reply) => {
    reply.header('allow', 'GET, HEAD, OPTIONS')
    return 'nope'
  })
  app.get('/limited', () => { throw new TooManyRequests(undefined, { retryAfter: 30 }) })
  app.get('/method', () => { throw new MethodNotAllowed(undefined, { validMethods: ['GET'] }) })
  const limited = await app.inject('/limited')
  t.equal(limited.headers['retry-after'], '30')
  t.equal(limited.headers['x-handled'], '1')
  t.equal((await app.inject('/method')).headers.allow, 'GET, HEAD, OPTIONS')
})

t.test('invalid headers on an error or a tuple are dropped with a warning; the response still goes out', async (t) => {
  const { app, logs } = await build()
  app.get('/error', () => abort(404, 'x', { headers: { 'x-bad': 'a\r\nSet-Cookie: evil=1', 'bad name': 'v', 'x-good': 'ok' } }))
  app.register(async (child) => {
    child.errorhandler(410)(() => ['body', 410, { 'x-nl': 'a\nb', 'x-fine': 'fine' }])
    child.get('/tuple', () => abort(410))
  })
  const res = await app.inject({ url: '/error', headers: API })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['x-good'], 'ok')
  t.notOk('x-bad' in res.headers)
  t.notOk('set-cookie' in res.headers)
  const tuple = await app.inject('/tuple')
  t.equal(tuple.statusCode, 410)
  t.equal(tuple.headers['x-fine'], 'fine')
  t.notOk('x-nl' in tuple.headers)
  const warnings = logs.filter((l) => l.level === LEVEL.warn)
  t.same(warnings.map((w) => w.headers), [['x-bad', 'bad name'], ['x-nl']])
})

t.test('failing handlers', async (t) => {
  t.test('a handler that throws runs the 500 handler with the failure as originalError and the first error as cause', async (t) => {
    const { app, logs } = await build()
    let seen: InternalServerError | undefined
    const first = new Gone()
    app.errorhandler(410)(() => { throw new Error('handler bug') })
    app.errorhandler(500)((error) => {
      seen = error as InternalServerError
      return ['custom 500', 500]
    })
    app.get('/', () => { throw first })
    const res = await app.inject('/')
    t.equal(res.statusCode, 500)
    t.equal(res.body, 'custom 500')
    t.equal((seen?.originalError as Error).message, 'handler bug')
    t.equal(seen?.cause, first)
    t.ok(logs.some((l) => l.level === LEVEL.error && l.err?.message === 'handler bug'), 'the failure is logged')
  })

  for (const [name, handler] of [
    ['rejects', async () => { throw new Error('async bug') }],
    ['returns nothing', () => undefined],
    ['returns a number', () => 42],
    ['returns an unserialisable object', () => ({ big: 10n })],
    ['sends an error', (_e: unknown, _r: unknown, reply: any) => { reply.send(new Error('sent error')) }]
  ] as const) {
    t.test(`a handler that ${name} gives the built-in 500, without the message`, async (t) => {
      const { app, logs } = await build()
      app.errorhandler(410)(handler as any)
      app.get('/', () => abort(410))
      const res = await app.inject({ url: '/', headers: API })
      t.equal(res.statusCode, 500)
      t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', message: InternalServerError.description, requestId: res.json().requestId })
      t.ok(logs.some((l) => l.level === LEVEL.error && /error handler 410/.test(l.msg)), 'the failure is logged, naming the handler')
    })
  }

  t.test('a failing 500 handler gives the built-in 500; no handler runs twice', async (t) => {
    const { app } = await build()
    let calls = 0
    app.errorhandler(500)(() => { calls++; throw new Error('500 handler bug') })
    app.errorhandler(Error)(() => { calls++; throw new Error('Error handler bug') })
    app.get('/', () => { throw new Error('first') })
    const res = await app.inject({ url: '/', headers: API })
    t.equal(res.statusCode, 500)
    t.equal(res.json().message, InternalServerError.description)
    t.equal(calls, 2, 'the Error handler ran for the raw error, the 500 handler once for its failure')
  })

  t.test('the 500 handler that failed is not run again for its own failure', async (t) => {
    const { app } = await build()
    let calls = 0
    app.errorhandler(500)(() => { calls++; throw new Error('bug') })
    app.get('/', () => { throw new Error('first') })
    const res = await app.inject({ url: '/', headers: BROWSER })
    t.equal(res.statusCode, 500)
    t.match(res.body, /<h1>Internal Server Error<\/h1>/)
    t.equal(calls, 1)
  })

  t.test('an onSend hook that fails on every response still gets a 500 out', async (t) => {
    const { app } = await build()
    app.addHook('onSend', async () => { throw new Error('onSend broken') })
    app.get('/', () => abort(404))
    const res = await app.inject({ url: '/', headers: API })
    t.equal(res.statusCode, 500)
    t.notMatch(res.body, /onSend broken/)
  })
})

t.test('thrown non-errors', async (t) => {
  const { app } = await build()
  const values: Record<string, unknown> = { string: 'a string', null: null, undefined, object: { statusCode: 'nope' }, number: 404, symbol: Symbol('s') }
  for (const [name, value] of Object.entries(values)) {
    app.get(`/${name}`, async () => { throw value })
  }
  let original: unknown = 'unset'
  app.register(async (child) => {
    child.errorhandler(500)((error) => { original = (error as InternalServerError).originalError; return ['caught', 500] })
    // eslint-disable-next-line no-throw-literal -- a thrown non-error is the case under test
    child.get('/caught', async () => { throw 'caught string' })
  })
  for (const name of Object.keys(values)) {
    const res = await app.inject({ url: `/${name}`, headers: API })
    t.equal(res.statusCode, 500, name)
    t.equal(res.json().message, InternalServerError.description, name)
  }
  t.equal((await app.inject('/caught')).body, 'caught')
  t.equal(original, 'caught string')
})

t.test('foreign errors flow through the same handlers by status', async (t) => {
  const { app } = await build()
  await app.register(sensible)
  const seen: string[] = []
  app.errorhandler(400)((error) => { seen.push(String(error.code)); return [{ handled: error.message }, 400] })
  app.errorhandler(413)(() => ['too big', 413])
  app.errorhandler(415)(() => ['media', 415])
  app.post('/validated', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => 'ok')
  app.post('/small', { bodyLimit: 10 }, async () => 'ok')
  app.get('/sensible', async () => { throw app.httpErrors.badRequest('sensible says no') })
  app.get('/http-errors', async () => { throw createHttpError(400, 'http-errors says no') })

  const validation = await app.inject({ method: 'POST', url: '/validated', payload: {} })
  t.equal(validation.statusCode, 400)
  t.match(validation.json().handled, /must have required property 'name'/)
  const badJson = await app.inject({ method: 'POST', url: '/validated', payload: '{"name":', headers: { 'content-type': 'application/json' } })
  t.equal(badJson.statusCode, 400)
  t.same(seen, ['FST_ERR_VALIDATION', 'FST_ERR_CTP_INVALID_JSON_BODY'])
  t.equal((await app.inject({ method: 'POST', url: '/small', payload: { name: 'x'.repeat(100) } })).body, 'too big')
  t.equal((await app.inject({ method: 'POST', url: '/validated', payload: 'x', headers: { 'content-type': 'application/x-unknown' } })).body, 'media')
  t.equal((await app.inject('/sensible')).json().handled, 'sensible says no')
  t.equal((await app.inject('/http-errors')).json().handled, 'http-errors says no')
})

t.test('a response schema does not strip the error body', async (t) => {
  const { app } = await build()
  app.get('/', { schema: { response: { '4xx': { type: 'object', properties: { statusCode: { type: 'number' } } } } } }, () => abort(404, 'kept'))
  const res = await app.inject({ url: '/', headers: API })
  t.equal(res.json().message, 'kept')
})

t.test('an error after the headers were sent ends the connection and is logged', async (t) => {
  const { app, logs } = await build()
  app.get('/', async (request, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.write('partial ')
    throw new Error('late failure')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const address = app.server.address() as { port: number }
  const outcome = await fetch(`http://127.0.0.1:${address.port}/`).then(async (res) => {
    t.equal(res.status, 200, 'the status was already out')
    return await res.text().then(() => 'complete', () => 'cut')
  })
  t.equal(outcome, 'cut', 'the client sees a broken body, not a second response')
  const line = logs.find((l) => l.level === LEVEL.error && /after the response headers were sent/.test(l.msg))
  t.equal(line?.err?.message, 'late failure')
})

t.test("an application's own status class speaks for itself in the default response", async (t) => {
  class SiteFrozen extends HTTPException {
    static override code = 599
    static override reason = 'Site Frozen'
    static override description = 'The site is frozen for the migration.'
  }
  const { app } = await build()
  app.get('/', () => { throw new SiteFrozen() })
  app.get('/renamed', () => { throw Object.assign(new SiteFrozen(), { name: 42 }) })
  class Careless extends HTTPException {
    static override code = 599
    static override description = 42 as unknown as string
  }
  app.get('/careless', () => { throw new Careless() })
  const res = await app.inject({ url: '/', headers: API })
  t.equal(res.statusCode, 599)
  t.same(res.json(), { statusCode: 599, error: 'Site Frozen', message: 'The site is frozen for the migration.', requestId: res.json().requestId })
  t.equal((await app.inject({ url: '/renamed', headers: API })).json().error, 'Server Error', 'a name that is not a string is not shown')
  t.equal((await app.inject({ url: '/careless', headers: API })).json().message, 'The server could not complete the request.', 'a class description that is not a string is replaced by the generic text')
})
