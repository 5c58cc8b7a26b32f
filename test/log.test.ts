/**
 * lib/log.ts as a unit: lines at the level they are given, and failure lines that carry both errors,
 * written through a real Fastify request's pino logger (describing a value is test/describe.test.ts).
 */
import t from 'tap'
import Fastify from 'fastify'
import type { FastifyRequest } from 'fastify'
import { Writable } from 'node:stream'
import { logError, logFailure } from '../lib/log.js'
import { createRedaction } from '../lib/redact.js'

/** The default policy, as an app without a `redact` option has it. */
const REDACTION = createRedaction()

/** One pino line, parsed. */
interface Line {
  level: number
  msg: string
  reqId?: string
  statusCode?: number
  err?: { type?: string, message?: string, stack?: string, value?: string, [key: string]: unknown }
  originalError?: { type?: string, message?: string, stack?: string, value?: string }
  logSerializerError?: string
}

const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const

function revoked (): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/**
 * Runs `action` inside a real request (GET /where?q=1) of an app logging at trace into memory;
 * returns the lines it wrote (Fastify's own request lines left out) and the request id.
 */
async function linesOf (action: (request: FastifyRequest) => void): Promise<{ lines: Line[], reqId: string }> {
  const lines: Line[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line)
      done()
    }
  })
  const app = Fastify({ logger: { level: 'trace', stream } })
  let reqId = ''
  app.get('/where', async (request) => {
    reqId = String(request.id)
    action(request)
    return 'ok'
  })
  const response = await app.inject('/where?q=1')
  await app.close()
  if (response.statusCode !== 200) throw new Error(`the action failed the request: ${response.body}`)
  return { lines: lines.filter((line) => line.msg !== 'incoming request' && line.msg !== 'request completed'), reqId }
}

t.test('logError', async (t) => {
  t.test('a 5xx is logged at error with the error, status, request id and a line naming method and path', async (t) => {
    const error = new Error('db down')
    const { lines, reqId } = await linesOf((request) => logError(request, error, 500, false, 'error', REDACTION))
    t.equal(lines.length, 1)
    const [line] = lines
    t.equal(line.level, LEVEL.error)
    t.equal(line.msg, 'GET /where?q=1 answered 500')
    t.equal(line.reqId, reqId)
    t.equal(line.statusCode, 500)
    t.equal(line.err?.type, 'Error')
    t.equal(line.err?.message, 'db down')
    t.match(line.err?.stack, /^Error: db down\n {4}at /)
  })

  t.test('writes at the level it is given, for each pino level; a routing line carries no err', async (t) => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      const { lines } = await linesOf((request) => logError(request, new Error('x'), 409, false, level, REDACTION))
      t.same(lines.map((line) => line.level), [LEVEL[level]], level)
      t.equal(lines[0].msg, 'GET /where?q=1 answered 409')
      t.ok('err' in lines[0], 'an error of the app carries it')
    }
    const routing = await linesOf((request) => logError(request, new Error('nope'), 404, true, 'debug', REDACTION))
    t.same(routing.lines.map((line) => line.level), [LEVEL.debug])
    t.equal(routing.lines[0].statusCode, 404)
    t.notOk('err' in routing.lines[0], 'a routing miss is no error of the app: no err, like Fastify\'s own not-found line')
  })

  t.test('silent writes nothing, routing or not', async (t) => {
    t.same((await linesOf((request) => logError(request, new Error('x'), 404, false, 'silent', REDACTION))).lines, [])
    t.same((await linesOf((request) => logError(request, new Error('x'), 404, true, 'silent', REDACTION))).lines, [])
  })

  t.test('no logger (Fastify\'s logger: false): the line is not even made', async (t) => {
    const app = Fastify({ logger: false })
    let reads = 0
    const thrown = Object.defineProperty(new Error('unread'), 'validation', { enumerable: true, get () { reads++; return [] } })
    app.get('/where', async (request) => {
      logError(request, thrown, 400, false, 'info', REDACTION)
      logError(request, thrown, 500, false, 'error', REDACTION)
      return 'ok'
    })
    t.equal((await app.inject('/where')).statusCode, 200)
    await app.close()
    t.equal(reads, 0, 'the error was not read for a line nobody writes')
  })

  t.test('a logger that is not pino (no isLevelEnabled) gets every line at its level', async (t) => {
    const written: Array<[string, unknown]> = []
    const logger = {
      level: 'info',
      fatal (line: unknown) { written.push(['fatal', line]) },
      error (line: unknown) { written.push(['error', line]) },
      warn (line: unknown) { written.push(['warn', line]) },
      info (line: unknown) { written.push(['info', line]) },
      debug (line: unknown) { written.push(['debug', line]) },
      trace (line: unknown) { written.push(['trace', line]) },
      child () { return logger }
    }
    const app = Fastify({ loggerInstance: logger as never, disableRequestLogging: true })
    app.get('/where', async (request) => {
      logError(request, new Error('kept'), 409, false, 'info', REDACTION)
      return 'ok'
    })
    await app.inject('/where')
    await app.close()
    t.same(written.map(([level]) => level), ['info'])
    t.match(written[0][1], { statusCode: 409, err: { message: 'kept' } })
  })

  t.test('values that are not errors are wrapped so they serialise', async (t) => {
    const cases: Array<[unknown, string, string]> = [
      ['a thrown string', 'string', '"a thrown string"'],
      [null, 'object', 'null'],
      [undefined, 'undefined', 'undefined'],
      [{ secret: 'hunter2' }, 'object', 'Object object'],
      [Symbol('s'), 'symbol', 'Symbol(s)'],
      [revoked(), 'object', 'an unprintable value']
    ]
    for (const [thrown, type, value] of cases) {
      const { lines } = await linesOf((request) => logError(request, thrown, 500, false, 'error', REDACTION))
      t.same(lines[0].err, { type, value }, value)
    }
  })

  t.test('an error pino cannot serialise is logged as a plain copy, not thrown', async (t) => {
    const frozen = Object.freeze(new Error('frozen'))
    const first = await linesOf((request) => logError(request, frozen, 409, false, 'info', REDACTION))
    t.equal(first.lines.length, 1)
    t.equal(first.lines[0].level, LEVEL.info)
    t.equal(first.lines[0].statusCode, 409)
    t.equal(first.lines[0].err?.message, 'frozen')
    t.match(first.lines[0].err?.stack, /^Error: frozen\n/)
    t.type(first.lines[0].logSerializerError, 'string', 'says why the copy was needed')

    const hostile = Object.defineProperty(new Error('hostile'), 'detail', { enumerable: true, get () { throw new Error('getter') } })
    const second = await linesOf((request) => logError(request, hostile, 500, false, 'error', REDACTION))
    t.equal(second.lines[0].err?.message, 'hostile')
    t.equal(second.lines[0].logSerializerError, 'getter')

    const noStack = Object.defineProperty(new Error('no stack'), 'stack', { get () { throw new Error('stack getter') } })
    const third = await linesOf((request) => logError(request, noStack, 500, false, 'error', REDACTION))
    t.equal(third.lines[0].err?.message, 'no stack')
    t.equal(third.lines[0].err?.stack, '(unreadable: a getter threw)')

    // The validation details are swapped for their public form before pino reads them; a getter that
    // throws there must not stop the line either.
    const badDetails = Object.defineProperty(new Error('body must be object'), 'validation', { enumerable: true, get () { throw new Error('validation getter') } })
    const fourth = await linesOf((request) => logError(request, badDetails, 400, false, 'info', REDACTION))
    t.equal(fourth.lines.length, 1)
    t.equal(fourth.lines[0].err?.message, 'body must be object')
    t.equal(fourth.lines[0].logSerializerError, 'validation getter')
  })

  t.test('the plain copy keeps the error\'s type (pino serialises it again under `err`)', async (t) => {
    const { lines } = await linesOf((request) => logError(request, Object.freeze(new RangeError('frozen')), 500, false, 'error', REDACTION))
    t.equal(lines[0].err?.type, 'RangeError')
    t.equal(lines[0].err?.message, 'frozen')
    t.match(lines[0].err?.stack, /^RangeError: frozen\n {4}at /)
    const failure = await linesOf((request) => logFailure(request, Object.freeze(new SyntaxError('bad template')), new Error('o'), 'x', REDACTION))
    t.equal(failure.lines[0].err?.type, 'SyntaxError')
  })
})

t.test('logFailure', async (t) => {
  t.test('carries the failure and the original error, both with stacks', async (t) => {
    const original = new RangeError('original problem')
    const failure = new TypeError('handler broke')
    const { lines, reqId } = await linesOf((request) => logFailure(request, failure, original, 'error handler 404 threw', REDACTION))
    t.equal(lines.length, 1)
    const [line] = lines
    t.equal(line.level, LEVEL.error)
    t.equal(line.reqId, reqId)
    t.equal(line.msg, 'GET /where?q=1: error handler 404 threw')
    t.equal(line.err?.type, 'TypeError')
    t.equal(line.err?.message, 'handler broke')
    t.match(line.err?.stack, /^TypeError: handler broke\n {4}at /)
    t.equal(line.originalError?.type, 'RangeError')
    t.equal(line.originalError?.message, 'original problem')
    t.match(line.originalError?.stack, /^RangeError: original problem\n {4}at /)
  })

  t.test('originals and failures that are not errors', async (t) => {
    const { lines } = await linesOf((request) => logFailure(request, 'a string failure', null, 'template failed', REDACTION))
    t.same(lines[0].err, { type: 'string', value: '"a string failure"' })
    t.same(lines[0].originalError, { type: 'object', value: 'null' })
    const proxied = await linesOf((request) => logFailure(request, revoked(), revoked(), 'x', REDACTION))
    t.same(proxied.lines[0].err, { type: 'object', value: 'an unprintable value' })
    t.same(proxied.lines[0].originalError, { type: 'object', value: 'an unprintable value' })
  })

  t.test('an original whose fields cannot be read keeps the others', async (t) => {
    const original = Object.defineProperty(new Error('kept'), 'stack', { get () { throw new Error('stack getter') } })
    const { lines } = await linesOf((request) => logFailure(request, new Error('f'), original, 'x', REDACTION))
    t.same(lines[0].originalError, { type: 'Error', message: 'kept', stack: '(unreadable: a getter threw)' })

    const odd = Object.defineProperty(Object.assign(new TypeError('x'), { message: 42 }), 'constructor', { get () { throw new Error('getter') } })
    const second = await linesOf((request) => logFailure(request, new Error('f'), odd, 'x', REDACTION))
    t.equal(second.lines[0].originalError?.type, '(unreadable: a getter threw)', 'a constructor that cannot be read')
    t.notOk('message' in (second.lines[0].originalError ?? {}), 'a non-string message is left out')
    t.match(second.lines[0].originalError?.stack, /^TypeError: 42\n {4}at /, 'the stack is kept')
  })

  t.test('a failure pino cannot serialise is logged as a plain copy', async (t) => {
    const { lines } = await linesOf((request) => logFailure(request, Object.freeze(new Error('frozen failure')), new Error('o'), 'x', REDACTION))
    t.equal(lines.length, 1)
    t.equal(lines[0].err?.message, 'frozen failure')
    t.equal(lines[0].originalError?.message, 'o')
    t.type(lines[0].logSerializerError, 'string')
  })
})
