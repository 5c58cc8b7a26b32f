/**
 * Fault injection through the plugin: handlers that throw, reject, never settle or fail
 * late; failing 500 handlers, reporters, loggers, hooks and streams; a client that goes away; the
 * not-found path failing; Fastify's body errors. Each fault checks the exact response (or the ended
 * connection), the error log lines it should leave, and that no promise rejection went unhandled.
 */
import t from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import flaskErrors, { FFE_INVALID_OPTION, Gone, InternalServerError, abort } from '../index.js'
import type { ErrorReport, HandlerResult } from '../index.js'
import { errorClass, errorMessage, serializeError } from '../lib/describe.js'
import { fingerprint } from '../lib/report-identity.js'
import { build, within, API, BROWSER, LEVEL } from './helpers.js'
import type { LogLine } from './helpers.js'

const GENERIC_500 = InternalServerError.description

// Every rejection that nobody handled during this file: the last test asserts there was none.
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)

let injected = 0
let passed = 0

/** The type of a subtest (t.test's last overload takes only the callback). */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

/** One injected fault: a subtest counted in the closing figures. */
function fault (parent: Test, name: string, body: (t: Test) => Promise<void>): void {
  injected++
  parent.test(name, async (t) => {
    await body(t)
    if (t.passing()) passed++
  })
}

/** Error-level lines (`error` and `fatal`). */
function errors (logs: LogLine[]): LogLine[] {
  return logs.filter((line) => line.level >= LEVEL.error)
}

/** Asserts the built-in JSON 500: generic text only. */
function isGeneric500 (t: Test, res: { statusCode: number, json: () => any, body: string }, leak?: RegExp): void {
  t.equal(res.statusCode, 500)
  const body = res.json()
  t.equal(body.message, GENERIC_500)
  t.equal(body.error, 'Internal Server Error')
  if (leak !== undefined) t.notMatch(res.body, leak, 'no internal message in the body')
}

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as { port: number }).port
}

/** A raw HTTP/1.1 exchange on loopback: what the server wrote before it closed, or `destroyAfter` ms. */
async function rawExchange (port: number, request: string, destroyAfter?: number): Promise<{ data: string, closedByServer: boolean }> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    let closedByServer = true
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('error', reject)
    socket.on('close', () => { resolve({ data, closedByServer }) })
    socket.write(request)
    if (destroyAfter !== undefined) {
      setTimeout(() => {
        closedByServer = false
        socket.destroy()
      }, destroyAfter)
    }
  })
}

t.test('handlers that fail', async (t) => {
  for (const [name, handler, what] of [
    ['throws', () => { throw new Error('secret sync failure') }, /error handler 410 threw/],
    ['rejects (async function)', async () => { throw new Error('secret async failure') }, /error handler 410 rejected/],
    ['returns a rejected promise', () => Promise.reject(new Error('secret rejected')), /error handler 410 rejected/],
    ['returns a thenable that rejects', () => ({ then: (_ok: unknown, no: (e: unknown) => void) => { no(new Error('secret thenable')) } }), /error handler 410 rejected/],
    ['throws a non-error', () => { throw Symbol('secret symbol') }, /error handler 410 threw/]
  ] as const) {
    fault(t, `a 410 handler that ${name}: built-in 500, one error line naming the handler`, async (t) => {
      const { app, logs } = await build()
      app.errorhandler(410)(handler as () => HandlerResult)
      app.get('/', () => abort(410))
      const res = await within(app.inject({ url: '/', headers: API }))
      isGeneric500(t, res, /secret/)
      const lines = errors(logs)
      t.equal(lines.length, 1, 'one error line')
      t.match(lines[0].msg, what)
      t.equal(lines[0].reqId, res.json().requestId, 'the line carries the request id the client sees')
    })
  }

  fault(t, 'a handler that never settles is cut off after errorHandlerTimeout; the 500 handler answers', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 50 })
    let settle: ((value: string) => void) | undefined
    app.errorhandler(410)(() => new Promise((resolve) => { settle = resolve }))
    app.errorhandler(500)((error) => [`500 handler saw: ${String((error as InternalServerError).originalError)}`, 500])
    app.get('/', () => abort(410))
    const started = Date.now()
    const res = await within(app.inject('/'))
    t.ok(Date.now() - started >= 45, 'answered at the deadline, not before')
    t.equal(res.statusCode, 500)
    t.equal(res.body, '500 handler saw: Error: error handler 410 did not settle within 50 ms')
    t.match(errors(logs).map((l) => l.msg), [/error handler 410 timed out \(errorHandlerTimeout\)/])
    settle?.('too late')
    await sleep(10)
    t.equal(errors(logs).length, 1, 'a late result is ignored without noise')
  })

  fault(t, 'a handler that never settles and a 500 handler that never settles: built-in 500 after two deadlines', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 30 })
    app.errorhandler(410)(async () => await new Promise(() => {}))
    app.errorhandler(500)(async () => await new Promise(() => {}))
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: BROWSER }))
    t.equal(res.statusCode, 500)
    t.match(res.body, /<h1>Internal Server Error<\/h1>/)
    t.equal(errors(logs).length, 2, 'both time-outs are logged')
  })

  fault(t, 'a handler cut off by the deadline that rejects later: logged once more, the response is untouched', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 20 })
    let fail: ((error: Error) => void) | undefined
    app.errorhandler(410)(() => new Promise((resolve, reject) => { fail = reject }))
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res)
    fail?.(new Error('late rejection'))
    await sleep(10)
    const lines = errors(logs)
    t.equal(lines.length, 2)
    t.match(lines[1].msg, /rejected after the request had moved on/)
    t.equal(lines[1].err?.message, 'late rejection')
  })

  fault(t, "a handler still running when Fastify's handlerTimeout expires: the 500 answers, the log says why", async (t) => {
    const { app, logs } = await build({}, { handlerTimeout: 40 })
    app.errorhandler(410)(async () => await new Promise(() => {}))
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res)
    t.match(errors(logs).map((l) => l.msg), [/error handler 410 was still running when Fastify's handlerTimeout expired/])
  })

  fault(t, "a route handler that never settles: Fastify's handlerTimeout 503 goes through the plugin's handlers", async (t) => {
    const { app, logs } = await build({}, { handlerTimeout: 30 })
    app.errorhandler(503)((error) => [{ busy: true, code: (error as { code?: string }).code }, 503, { 'retry-after': '5' }])
    app.get('/', async () => await new Promise(() => {}))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 503)
    t.equal(res.headers['retry-after'], '5')
    t.same(res.json(), { busy: true, code: 'FST_ERR_HANDLER_TIMEOUT' })
    t.equal(errors(logs).length, 1, 'the 503 is logged once, as a server error')
  })

  fault(t, 'a handler that fails through reply.send(error) and resolves later: the 500 handler answers, not the stale result', async (t) => {
    const { app } = await build()
    app.errorhandler(410)(async (error, request, reply) => {
      reply.send(new Error('sent an error'))
      await sleep(20)
      return ['stale 410 body', 410]
    })
    app.errorhandler(500)(async () => {
      await sleep(40)
      return ['from the 500 handler', 500]
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 500)
    t.equal(res.body, 'from the 500 handler')
  })

  fault(t, 'a handler that fails through reply.send(error) and never settles: its deadline passes while the 500 handler answers', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 40 })
    app.errorhandler(410)(async (error, request, reply) => {
      await sleep(20)
      reply.send(new Error('sent an error'))
      await new Promise(() => {})
    })
    // Starts at ~20 ms and answers at ~50 ms: the 410 handler's deadline (~40 ms) passes in between.
    app.errorhandler(500)(async () => {
      await sleep(30)
      return ['from the 500 handler', 500]
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 500)
    t.equal(res.body, 'from the 500 handler')
    await sleep(30)
    t.equal(errors(logs).length, 1, 'the failure only; the passed deadline adds nothing')
  })

  fault(t, 'a handler that sends its own reply and never settles: the reply stands, no time-out', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 20 })
    app.errorhandler(410)(async (error, request, reply) => {
      reply.code(410).send('sent by the handler')
      await new Promise(() => {})
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 410)
    t.equal(res.body, 'sent by the handler')
    await sleep(40)
    t.equal(errors(logs).length, 0)
  })

  fault(t, 'a handler that hijacks the reply and answers after its deadline: left alone, as Fastify leaves hijacked replies', async (t) => {
    const { app, logs } = await build({ errorHandlerTimeout: 20 })
    app.errorhandler(410)(async (error, request, reply) => {
      reply.hijack()
      setTimeout(() => { reply.raw.writeHead(410, { 'content-type': 'text/plain' }).end('raw answer') }, 50)
      await new Promise(() => {})
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 410)
    t.equal(res.body, 'raw answer')
    t.equal(errors(logs).length, 0)
  })

  fault(t, 'a never-settling handler does not hold the process after its response: the deadline is cleared', async (t) => {
    const { app } = await build({}, { handlerTimeout: 20 })
    app.errorhandler(410)(async () => await new Promise(() => {}))
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res)
    // With the 10 s default deadline still pending, this handle count would include its timer.
    const timers = (process as unknown as { getActiveResourcesInfo: () => string[] }).getActiveResourcesInfo().filter((name) => name === 'Timeout').length
    t.equal(timers, 0, 'no timer left behind')
  })

  fault(t, 'a handler that sends its reply and then throws: the complete response is kept, the error logged', async (t) => {
    const { app, logs } = await build()
    app.errorhandler(410)(async (error, request, reply) => {
      await reply.code(410).send('complete')
      throw new Error('after the response')
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 410)
    t.equal(res.body, 'complete')
    await sleep(5)
    const lines = errors(logs)
    t.equal(lines.length, 2, 'the failure and the note that the response was already complete')
    t.match(lines[1].msg, /error after the response was complete; response kept/)
  })

  fault(t, 'a handler that sends its reply and then throws a non-error: logged as a described value', async (t) => {
    const { app, logs } = await build()
    app.errorhandler(410)(async (error, request, reply) => {
      await reply.code(410).send('complete')
      throw 'a string' // eslint-disable-line no-throw-literal
    })
    app.get('/', () => abort(410))
    t.equal((await within(app.inject('/'))).body, 'complete')
    await sleep(5)
    t.same(errors(logs)[1].err, { thrown: '"a string"' })
  })

  fault(t, 'a handler answering with a 1xx status (a tuple or reply.code) fails: a real client gets the 500 instead of waiting forever', async (t) => {
    const { app, logs } = await build()
    app.errorhandler(410)(() => ['informational?', 101])
    app.errorhandler(409)((error, request, reply) => { reply.code(100); return 'continue?' })
    app.get('/tuple', () => abort(410))
    app.get('/code', () => abort(409))
    const port = await listen(app)
    t.teardown(() => app.close())
    for (const path of ['/tuple', '/code']) {
      const res = await within(fetch(`http://127.0.0.1:${port}${path}`, { headers: API }))
      t.equal(res.status, 500, path)
      t.equal((await res.json() as { message: string }).message, GENERIC_500)
    }
    t.match(errors(logs).map((l) => l.err?.message), [/error handler 410 answered with status 101; a 1xx status is not a final response/, /error handler 409 answered with status 100/])
  })

  fault(t, 'a 410 handler and the 500 handler both fail: built-in 500, both failures logged, each handler ran once', async (t) => {
    const { app, logs } = await build()
    const calls = { 410: 0, 500: 0 }
    app.errorhandler(410)(() => { calls[410]++; throw new Error('first failure') })
    app.errorhandler(500)(async () => { calls[500]++; throw new Error('second failure') })
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res, /failure/)
    t.same(calls, { 410: 1, 500: 1 })
    t.same(errors(logs).map((l) => l.err?.message), ['first failure', 'second failure'])
  })

  fault(t, 'a handler returning a stream that fails before its first byte: the 500 answers', async (t) => {
    const { app, logs } = await build()
    app.errorhandler(410)(() => new Readable({ read () { this.destroy(new Error('stream broke')) } }))
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res, /stream broke/)
    t.match(errors(logs).map((l) => l.msg), [/error handler 410 failed while being sent/])
  })

  t.test('errorHandlerTimeout is validated at registration', async (t) => {
    for (const bad of [0, -1, 1.5, 2 ** 31, '100', null]) {
      await t.rejects(build({ errorHandlerTimeout: bad as number }), FFE_INVALID_OPTION, String(bad))
    }
  })
})

t.test('reporters that fail', async (t) => {
  for (const [name, reporter] of [
    ['throws', () => { throw new Error('reporter broke') }],
    ['rejects', async () => { throw new Error('reporter broke') }],
    ['hangs', async () => await new Promise<void>(() => {})]
  ] as const) {
    fault(t, `a reporter that ${name}: the response is not held nor changed; the failure is logged once`, async (t) => {
      const { app, logs } = await build({ report: reporter, reportTimeout: 30 })
      app.get('/', () => { throw new Error('secret crash') })
      // A reporter that never finishes cannot hold the response: it arrives (within() fails otherwise).
      const res = await within(app.inject({ url: '/', headers: API }))
      isGeneric500(t, res, /secret crash/)
      await sleep(60)
      const lines = errors(logs)
      t.equal(lines.length, 2, 'the 500 and the reporter failure')
      t.match(lines[1].msg, name === 'hangs' ? /did not finish within 30 ms and was cut off/ : /error reporter #0 failed while reporting GET \//)
      await within(app.close(), 1000)
    })
  }

  fault(t, 'hostile thrown values reach the reporter without breaking the scheduling step', async (t) => {
    const reports: ErrorReport[] = []
    const { app, logs } = await build({ report: (report) => { reports.push(report) } })
    const revoked = Proxy.revocable(new Error('revoked'), {})
    revoked.revoke()
    const stackGetter = Object.defineProperty(new Error('stack'), 'stack', { get () { throw new Error('no stack') } })
    const messageGetter = Object.defineProperty(new Error('message'), 'message', { get () { throw new Error('no message') } })
    const values = [revoked.proxy, stackGetter, messageGetter]
    values.forEach((value, i) => { app.get(`/${i}`, () => { throw value }) })
    for (let i = 0; i < values.length; i++) {
      isGeneric500(t, await within(app.inject({ url: `/${i}`, headers: API })))
    }
    await sleep(20)
    t.equal(reports.length, 3, 'each one reported')
    t.equal(reports[0].error, revoked.proxy, 'the original value, as thrown')
    t.notOk(logs.some((l) => /failed while answering an error/.test(l.msg)), 'no emergency path was needed')
  })

  t.test('the report helpers read hostile values without throwing', async (t) => {
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const stackGetter = Object.defineProperty(new Error('m'), 'stack', { get () { throw new Error('no stack') } })
    const messageGetter = Object.defineProperty(new Error('m'), 'message', { get () { throw new Error('no message') } })
    t.equal(errorClass(revoked.proxy), 'Unreadable')
    t.equal(errorMessage(messageGetter), '(unreadable message)')
    t.equal(errorMessage(revoked.proxy), '(unreadable message)', 'not even Object.prototype.toString can read a revoked Proxy')
    // eslint-disable-next-line no-control-regex -- the NUL separator of the fingerprint is what is checked
    t.match(fingerprint(stackGetter), /^Error\u0000m\u0000$/)
    t.same(serializeError(stackGetter), { type: 'Error', message: 'm', unreadable: true })
  })

  fault(t, 'a failing reporter with a hostile error: the failure line is still written', async (t) => {
    const stackGetter = Object.defineProperty(new Error('boom'), 'stack', { get () { throw new Error('no stack') } })
    const { app, logs } = await build({ report: () => { throw new Error('reporter broke') } })
    app.get('/', () => { throw stackGetter })
    isGeneric500(t, await within(app.inject({ url: '/', headers: API })))
    await sleep(20)
    const line = errors(logs).find((l) => /error reporter/.test(l.msg))
    t.same(line?.reportedError, { type: 'Error', message: 'boom', unreadable: true })
  })
})

t.test('loggers that fail', async (t) => {
  fault(t, 'a frozen error is answered with its own status (pino cannot tag it) and logged as a copy', async (t) => {
    const { app, logs } = await build()
    const frozen = Object.freeze(Object.assign(new Error('frozen conflict'), { statusCode: 409 }))
    app.get('/', () => { throw frozen })
    const res = await within(app.inject({ url: '/', headers: API }))
    t.equal(res.statusCode, 409)
    t.equal(res.json().message, 'frozen conflict')
    const line = logs.find((l) => /answered 409/.test(l.msg))
    t.equal(line?.level, LEVEL.info)
    t.equal(line?.err?.message, 'frozen conflict')
    t.type(line?.logSerializerError, 'string', 'the line says why it is a copy')
    t.equal(errors(logs).length, 0)
  })

  fault(t, 'an error with an enumerable getter that throws keeps its 400', async (t) => {
    const { app, logs } = await build()
    const error = Object.defineProperty(Object.assign(new Error('bad input'), { statusCode: 400 }), 'details', { enumerable: true, get () { throw new Error('getter') } })
    app.get('/', () => { throw error })
    const res = await within(app.inject({ url: '/', headers: API }))
    t.equal(res.statusCode, 400)
    t.equal(res.json().message, 'bad input')
    t.equal(logs.find((l) => /answered 400/.test(l.msg))?.err?.message, 'bad input')
  })

  fault(t, 'a failing handler whose first error is unreadable: both described in the failure line', async (t) => {
    const { app, logs } = await build()
    const revoked = Proxy.revocable(new Error('x'), {})
    revoked.revoke()
    const stackless = Object.defineProperty(new Error('first'), 'stack', { get () { throw new Error('no') } })
    app.errorhandler(Error)(() => { throw Object.freeze(new Error('handler failure')) })
    app.get('/revoked', () => { throw revoked.proxy })
    app.get('/stackless', () => { throw stackless })
    app.errorhandler(500)(() => { throw new Error('500 failure') })
    isGeneric500(t, await within(app.inject({ url: '/revoked', headers: API })))
    isGeneric500(t, await within(app.inject({ url: '/stackless', headers: API })))
    const failures = errors(logs).filter((l) => /error handler Error threw/.test(l.msg))
    t.equal(failures.length, 2)
    t.same(failures[0].originalError, { type: 'object', value: 'an unprintable value' })
    t.same(failures[1].originalError, { type: 'Error', message: 'first', stack: '(unreadable: a getter threw)' })
    t.equal(failures[1].err?.message, 'handler failure', 'the frozen failure itself is logged as a copy')
  })

  /**
   * An app whose logger throws `thrown(line)` for every error-level line (a full disk, a broken
   * transport). pino writes to a plain `{ write }` destination synchronously, so the throw reaches
   * the caller. Process warnings emitted meanwhile are collected.
   */
  async function brokenLogger (t: Test, thrown: () => unknown): Promise<{ app: FastifyInstance, warnings: Error[] }> {
    const stream = {
      write (line: string) {
        if (line.includes('"level":50')) throw thrown()
      }
    }
    const app = Fastify({ logger: { level: 'info', stream } })
    await app.register(flaskErrors)
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => { warnings.push(warning) }
    process.on('warning', onWarning)
    t.teardown(() => { process.off('warning', onWarning) })
    return { app, warnings }
  }

  fault(t, 'a logger that throws on every error line: raw 500, a process warning, no hang, no loop', async (t) => {
    const { app, warnings } = await brokenLogger(t, () => new Error('disk full'))
    app.get('/', () => { throw new Error('secret') })
    const res = await within(app.inject({ url: '/', headers: BROWSER }))
    isGeneric500(t, res, /secret/)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    await sleep(5)
    t.equal(warnings.length, 1)
    t.match(warnings[0].message, /could not log \(disk full\) while answering GET \/: disk full/)
    t.equal((await within(app.inject('/missing'))).statusCode, 404, 'the app keeps serving')
  })

  fault(t, 'a logger that throws on the routing 404/405 line: raw 500, the failure logged at error, no hang', async (t) => {
    // Routing lines at warn, and a stream that fails on warn lines only: Fastify's own request lines
    // (info) go through, and so does the error line that says what happened.
    const lines: Array<{ level: number, msg: string, err?: { message?: string } }> = []
    const stream = {
      write (line: string) {
        if (line.includes('"level":40')) throw new Error('disk full')
        lines.push(JSON.parse(line))
      }
    }
    const app = Fastify({ logger: { level: 'info', stream } })
    await app.register(flaskErrors, { notFoundLogLevel: 'warn' })
    app.get('/page', () => 'page')
    for (const [method, url] of [['GET', '/missing'], ['DELETE', '/page']] as const) {
      isGeneric500(t, await within(app.inject({ method, url, headers: API })), /disk full/)
    }
    const failures = lines.filter((l) => l.level === LEVEL.error)
    t.same(failures.map((l) => l.msg), ['GET /missing: fastify-flask-errors failed while answering an error', 'DELETE /page: fastify-flask-errors failed while answering an error'])
    t.same(failures.map((l) => l.err?.message), ['disk full', 'disk full'])
  })

  fault(t, 'a broken logger while an async handler fails: the raw 500 from the promise callback', async (t) => {
    const { app, warnings } = await brokenLogger(t, () => 'a string, not an error')
    app.errorhandler(410)(async () => { throw new Error('secret') })
    app.get('/', () => abort(410))
    isGeneric500(t, await within(app.inject({ url: '/', headers: API })), /secret/)
    await sleep(5)
    t.match(warnings.map((w) => w.message), [/could not log \("a string, not an error"\)/])
  })

  fault(t, 'a broken logger when a handler fails after its complete response: the response stands', async (t) => {
    const unreadable = Object.defineProperty(new Error('x'), 'message', { get () { throw new Error('no message') } })
    const { app, warnings } = await brokenLogger(t, () => unreadable)
    app.errorhandler(410)(async (error, request, reply) => {
      await reply.code(410).send('complete')
      throw new Error('secret')
    })
    app.get('/', () => abort(410))
    const res = await within(app.inject('/'))
    t.equal(res.statusCode, 410)
    t.equal(res.body, 'complete')
    await sleep(5)
    // The emergency line itself fails on the unreadable message (pino reads it): both are described.
    t.match(warnings.map((w) => w.message), [/could not log \(no message\) while answering GET \/: Error object$/])
  })

  fault(t, 'a broken logger when a route fails after sending headers: the connection is ended', async (t) => {
    const { app, warnings } = await brokenLogger(t, () => new Error('disk full'))
    app.get('/', async (request, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.write('partial ')
      throw new Error('secret')
    })
    const port = await listen(app)
    t.teardown(() => app.close())
    const { data } = await within(rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    t.match(data, /^HTTP\/1\.1 200 OK/)
    t.notMatch(data, /secret|0\r\n\r\n$/, 'no error text, and no final chunk: the body is visibly cut')
    t.equal(warnings.length, 1)
  })
})

t.test('hooks that fail', async (t) => {
  for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization'] as const) {
    for (const style of ['sync', 'async'] as const) {
      fault(t, `${hook} (${style === 'sync' ? 'done(error)' : 'async throw'}) with abort(410): the 410 default response; with a raw error: the generic 500`, async (t) => {
        const { app, logs } = await build()
        const payloadHook = hook === 'preParsing' || hook === 'preSerialization'
        const fn = (error: unknown): unknown => style === 'async'
          ? async () => { throw error }
          : payloadHook
            ? (_request: unknown, _reply: unknown, _payload: unknown, done: (e: unknown) => void) => { done(error) }
            : (_request: unknown, _reply: unknown, done: (e: unknown) => void) => { done(error) }
        await app.register(async (child) => {
          child.addHook(hook, fn(new Gone('hook says gone')) as any)
          child.get('/gone', async () => ({ ok: true }))
        })
        await app.register(async (child) => {
          child.addHook(hook, fn(new Error('secret hook failure')) as any)
          child.get('/raw', async () => ({ ok: true }))
        })
        const gone = await within(app.inject({ url: '/gone', headers: API }))
        t.equal(gone.statusCode, 410)
        t.equal(gone.json().message, 'hook says gone')
        const raw = await within(app.inject({ url: '/raw', headers: BROWSER }))
        t.equal(raw.statusCode, 500)
        t.match(raw.body, /<h1>Internal Server Error<\/h1>/)
        t.notMatch(raw.body, /secret hook failure/)
        t.same(errors(logs).map((l) => l.err?.message), ['secret hook failure'], 'one error line, for the 500')
      })
    }
  }

  fault(t, 'an onSend hook that fails only on error responses: the 500 goes out', async (t) => {
    const { app, logs } = await build()
    app.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode === 404) throw new Error('secret onSend failure')
      return payload
    })
    app.get('/', () => abort(404))
    const res = await within(app.inject({ url: '/', headers: API }))
    isGeneric500(t, res, /secret/)
    t.match(errors(logs).map((l) => l.msg), [/the default error response failed while being sent/])
  })

  fault(t, 'an onSend hook that fails on every response, with a 500 handler: the raw last-resort 500', async (t) => {
    const { app, logs } = await build()
    let calls = 0
    app.addHook('onSend', async () => { throw new Error('secret onSend failure') })
    app.errorhandler(500)(() => { calls++; return ['custom 500', 500] })
    app.errorhandler(404)(() => 'custom 404')
    app.get('/', () => abort(404))
    const res = await within(app.inject({ url: '/', headers: BROWSER }))
    isGeneric500(t, res, /secret|custom/)
    t.equal(calls, 1, 'the 500 handler ran once')
    t.equal(errors(logs).length, 3, 'the 404 handler, the 500 handler and the built-in 500 each failed once')
  })

  fault(t, 'an onError hook that throws: Fastify logs it, the plugin still answers', async (t) => {
    const { app } = await build()
    app.addHook('onError', async () => { throw new Error('secret onError failure') })
    app.get('/', () => abort(410))
    const res = await within(app.inject({ url: '/', headers: API }))
    t.equal(res.statusCode, 410)
    t.notMatch(res.body, /secret/)
  })
})

t.test('the not-found path failing', async (t) => {
  fault(t, 'a 404 handler that throws: built-in 500, one error line', async (t) => {
    const { app, logs } = await build()
    app.errorhandler(404)(() => { throw new Error('secret 404 failure') })
    const res = await within(app.inject({ url: '/nowhere', headers: API }))
    isGeneric500(t, res, /secret/)
    t.equal(errors(logs).length, 1)
  })

  fault(t, 'a prefixed 404 handler that rejects: the root 500 handler answers', async (t) => {
    const { app } = await build()
    app.errorhandler(500)(() => ['root 500', 500])
    await app.register(async (blog) => {
      blog.errorhandler(404)(async () => { throw new Error('blog 404 failure') })
      blog.get('/post', async () => 'post')
    }, { prefix: '/blog' })
    const res = await within(app.inject('/blog/nowhere'))
    t.equal(res.statusCode, 500)
    t.equal(res.body, 'root 500')
  })

  fault(t, 'an onRequest hook that throws on unknown URLs: the error is answered, not the 404', async (t) => {
    const { app, logs } = await build()
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/trap')) throw new Error('secret onRequest failure')
    })
    await app.register(async (blog) => {
      blog.addHook('onRequest', async () => { abort(401, 'log in first') })
      blog.errorhandler(404)(() => 'blog 404')
      blog.get('/post', async () => 'post')
    }, { prefix: '/blog' })
    isGeneric500(t, await within(app.inject({ url: '/trap/unknown', headers: API })), /secret/)
    const blog = await within(app.inject({ url: '/blog/unknown', headers: API }))
    t.equal(blog.statusCode, 401)
    t.equal(blog.json().message, 'log in first')
    t.equal(errors(logs).length, 1)
  })
})

t.test("Fastify's body errors", async (t) => {
  fault(t, 'a body over the limit: 413 with the default response', async (t) => {
    const { app, logs } = await build({}, { bodyLimit: 100 })
    app.post('/', async () => 'ok')
    const res = await within(app.inject({ method: 'POST', url: '/', payload: { big: 'x'.repeat(200) }, headers: API }))
    t.equal(res.statusCode, 413)
    t.same(res.json(), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is too large', requestId: res.json().requestId })
    t.equal(errors(logs).length, 0, '4xx are not error lines')
  })

  fault(t, 'bad JSON: 400 with the parser message; HTML escapes it', async (t) => {
    const { app } = await build()
    app.post('/', async () => 'ok')
    const res = await within(app.inject({ method: 'POST', url: '/', payload: '{"a":<script>', headers: { ...API, 'content-type': 'application/json' } }))
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
    const page = await within(app.inject({ method: 'POST', url: '/', payload: '{"a":<script>', headers: { ...BROWSER, 'content-type': 'application/json' } }))
    t.equal(page.statusCode, 400)
    t.notMatch(page.body, /<script/)
  })

  fault(t, 'an unsupported media type: 415', async (t) => {
    const { app } = await build()
    app.post('/', async () => 'ok')
    const res = await within(app.inject({ method: 'POST', url: '/', payload: 'x', headers: { ...API, 'content-type': 'application/x-nope' } }))
    t.equal(res.statusCode, 415)
    t.equal(res.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
  })

  fault(t, 'a declared length the body does not have: 400, the app keeps serving', async (t) => {
    const { app } = await build()
    app.post('/', async () => 'ok')
    const port = await listen(app)
    t.teardown(() => app.close())
    const { data } = await within(rawExchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"a":1}'))
    t.match(data, /^HTTP\/1\.1 400 /)
    t.equal((await within(app.inject('/nowhere'))).statusCode, 404)
  })
})

t.test('connections', async (t) => {
  fault(t, 'a stream error after the headers: the connection is ended, the server keeps serving', async (t) => {
    const { app, logs } = await build()
    app.get('/stream', async (request, reply) => {
      let sent = false
      const body = new Readable({
        read () {
          if (!sent) {
            sent = true
            this.push('first chunk ')
          } else {
            setTimeout(() => { this.destroy(new Error('secret stream failure')) }, 5)
          }
        }
      })
      return reply.type('text/plain').send(body)
    })
    const port = await listen(app)
    t.teardown(() => app.close())
    const { data } = await within(rawExchange(port, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n'))
    t.match(data, /^HTTP\/1\.1 200 OK/)
    t.match(data, /first chunk/)
    t.notMatch(data, /secret|"statusCode":500/, 'no second response on the wire')
    t.equal((await fetch(`http://127.0.0.1:${port}/nowhere`)).status, 404)
    t.ok(logs.some((l) => l.err?.message === 'secret stream failure'), 'logged')
  })

  fault(t, 'the client leaves while an async error handler runs: no crash, the server keeps serving', async (t) => {
    const { app, logs } = await build()
    let finished: (() => void) | undefined
    const done = new Promise<void>((resolve) => { finished = resolve })
    app.errorhandler(410)(async () => {
      await sleep(50)
      setImmediate(() => { finished?.() })
      return ['<p>too late for this client</p>', 410]
    })
    app.get('/gone', () => abort(410))
    const port = await listen(app)
    t.teardown(() => app.close())
    const { data, closedByServer } = await within(rawExchange(port, 'GET /gone HTTP/1.1\r\nHost: x\r\n\r\n', 10))
    t.equal(closedByServer, false)
    t.equal(data, '', 'nothing was written before the client left')
    await within(done)
    await sleep(10)
    const res = await fetch(`http://127.0.0.1:${port}/gone`)
    t.equal(res.status, 410)
    t.equal(errors(logs).length, 0, 'a client that left is not a server error')
  })

  fault(t, 'the client leaves in the middle of a large error page: no crash, the server keeps serving', async (t) => {
    const { app } = await build()
    app.errorhandler(410)(() => ['x'.repeat(4 * 1024 * 1024), 410])
    app.get('/gone', () => abort(410))
    const port = await listen(app)
    t.teardown(() => app.close())
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', reject)
      socket.once('data', () => { socket.destroy(); resolve() })
      socket.write('GET /gone HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    await sleep(20)
    const res = await fetch(`http://127.0.0.1:${port}/gone`)
    t.equal(res.status, 410)
    t.equal((await res.text()).length, 4 * 1024 * 1024)
  })
})

t.test('header safety', async (t) => {
  fault(t, 'a foreign error with hostile headers: of the allow-listed names the valid values are kept, the rest dropped with one warning naming them', async (t) => {
    const { app, logs } = await build()
    // Only names a foreign error may send (Retry-After, the rate-limit fields) are read at all.
    const headers: Record<string, unknown> = {
      'retry-after': 30,
      'x-ratelimit-list': ['a', 'b'],
      'x-ratelimit-crlf': 'a\r\nSet-Cookie: evil=1',
      'x-ratelimit-lf-array': ['fine', 'bad\nvalue'],
      'x-ratelimit-mixed-array': ['fine', 5],
      'x-ratelimit-empty-array': [],
      'x-ratelimit-object': { toString: () => 'x' },
      'x-ratelimit-nan': Number.NaN,
      'x-ratelimit-bigint': 10n,
      'x-ratelimit-symbol': Symbol('s'),
      'x-ratelimit-null': null,
      'x-ratelimit-nul': 'a\u0000b',
      'x-ratelimit-latin1': 'caf\u00e9',
      'x-ratelimit-emoji': 'smile \u{1F600}',
      'bad name': 'v',
      'x-other': 'not an error header'
    }
    Object.defineProperty(headers, 'x-ratelimit-getter', { enumerable: true, get () { throw new Error('getter') } })
    const error = Object.assign(new Error('slow down'), { statusCode: 429, headers })
    app.get('/', () => { throw error })
    const res = await within(app.inject({ url: '/', headers: API }))
    t.equal(res.statusCode, 429)
    t.equal(res.json().message, 'slow down')
    t.equal(res.headers['retry-after'], '30')
    t.same(res.headers['x-ratelimit-list'], ['a', 'b'])
    t.equal(res.headers['x-ratelimit-latin1'], 'caf\u00e9', 'Latin-1 is a valid field value')
    t.notOk('set-cookie' in res.headers, 'no header injection')
    t.notOk('x-other' in res.headers, 'a name off the allow-list is not sent')
    const warnings = logs.filter((l) => l.level === LEVEL.warn)
    t.equal(warnings.length, 1)
    t.same(warnings[0].headers, ['x-ratelimit-crlf', 'x-ratelimit-lf-array', 'x-ratelimit-mixed-array', 'x-ratelimit-empty-array', 'x-ratelimit-object', 'x-ratelimit-nan', 'x-ratelimit-bigint', 'x-ratelimit-symbol', 'x-ratelimit-null', 'x-ratelimit-nul', 'x-ratelimit-emoji', 'x-ratelimit-getter'])
    for (const name of warnings[0].headers as string[]) t.notOk(name in res.headers, `${name} not sent`)
  })

  fault(t, 'framing headers (Content-Length, Transfer-Encoding, Trailer) from an error or a tuple are refused: real clients get a sound response', async (t) => {
    const { app, logs } = await build()
    const framing = { 'Content-Length': '999', 'transfer-encoding': 'chunked', trailer: 'x-foo', 'x-kept': 'yes' }
    app.get('/error', () => { throw new Gone('gone', { headers: framing }) })
    app.register(async (child) => {
      child.errorhandler(409)(() => ['tuple body', 409, framing])
      child.get('/tuple', () => abort(409))
    })
    app.register(async (child) => {
      child.errorhandler(409)(() => [Readable.from(['stre', 'am']), 409, framing])
      child.get('/stream', () => abort(409))
    })
    const port = await listen(app)
    t.teardown(() => app.close())
    for (const [path, status, body] of [['/error', 410, /"message":"gone"/], ['/tuple', 409, /^tuple body$/], ['/stream', 409, /^stream$/]] as const) {
      const res = await within(fetch(`http://127.0.0.1:${port}${path}`, { headers: API }))
      t.equal(res.status, status, path)
      t.equal(res.headers.get('x-kept'), 'yes')
      t.equal(res.headers.get('trailer'), null)
      t.match(await within(res.text()), body)
    }
    t.same(logs.filter((l) => l.level === LEVEL.warn).map((l) => l.headers), [['Content-Length', 'transfer-encoding', 'trailer'], ['Content-Length', 'transfer-encoding', 'trailer'], ['Content-Length', 'transfer-encoding', 'trailer']])
  })

  fault(t, 'an onSend hook that adds a Trailer header to the error response: the raw 500, no hang (plain Fastify crashes here)', async (t) => {
    const { app } = await build()
    app.addHook('onSend', async (request, reply, payload) => {
      reply.header('trailer', 'x-foo')
      return payload
    })
    app.get('/', () => abort(410))
    isGeneric500(t, await within(app.inject({ url: '/', headers: BROWSER })))
    const port = await listen(app)
    t.teardown(() => app.close())
    const res = await within(fetch(`http://127.0.0.1:${port}/`))
    t.equal(res.status, 500)
    t.equal((await res.json() as { message: string }).message, GENERIC_500)
  })
})

t.test('closing figures', async (t) => {
  await sleep(50)
  t.same(unhandled, [], 'no unhandled promise rejection in the whole file')
  process.off('unhandledRejection', onUnhandled)
  t.comment(`faults injected: ${injected}, passed: ${passed}`)
  t.equal(passed, injected)
})
