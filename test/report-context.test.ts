/**
 * Report context as a user meets it: `reportContext(request, error)` and an error's own `context()`
 * put who and what an error concerned (a user id from @fastify/jwt, a tenant, an order) into
 * `report.context`, safely — bounded, secrets masked by the app's redaction policy, frozen — and a
 * context source that fails is logged and left out, never costing the response or the report.
 */
import t from 'tap'
import jwt from '@fastify/jwt'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import flaskErrors, { FFE_INVALID_OPTION, InternalServerError, PaymentRequired } from '../index.js'
import type { ErrorReport, FlaskErrorsOptions } from '../index.js'
import { build, API, LEVEL } from './helpers.js'
import type { LogLine } from './helpers.js'

/** An app whose reports land in `reports`; `arrived(n)` waits for n of them. */
async function reporting (options: FlaskErrorsOptions = {}): Promise<{
  app: FastifyInstance, logs: LogLine[], reports: ErrorReport[], arrived: (n: number) => Promise<void>
}> {
  const reports: ErrorReport[] = []
  const { app, logs } = await build({ report: (report) => { reports.push(report) }, ...options })
  const arrived = async (n: number): Promise<void> => {
    const deadline = Date.now() + 3000
    while (reports.length < n && Date.now() < deadline) await sleep(2)
    if (reports.length < n) throw new Error(`${reports.length} reports arrived, not ${n}`)
  }
  return { app, logs, reports, arrived }
}

/** An error that knows what it concerns, as Laravel's exceptions do with `context()`. */
class PaymentFailed extends Error {
  constructor (readonly orderId: number, readonly reason: string) { super(`payment for order ${orderId} failed`) }
  context (): Record<string, unknown> { return { orderId: this.orderId, reason: this.reason, userId: 'from the error' } }
}

/** The plugin's lines about a context source (everything else the app logs is the error itself). */
function contextLines (logs: LogLine[]): LogLine[] {
  return logs.filter((line) => /context|reportContext/.test(line.msg) && /goes out without it/.test(line.msg))
}

t.test('with @fastify/jwt, reportContext puts the signed-in user into the report of a crash', async (t) => {
  const { app, reports, arrived } = await reporting({
    reportContext: (request) => ({ userId: (request.user as { sub: string }).sub, tenant: request.headers['x-tenant'] })
  })
  t.teardown(() => app.close())
  await app.register(jwt, { secret: 'a-test-secret-that-is-long-enough' })
  app.get('/orders', { onRequest: async (request) => { await request.jwtVerify() } }, async () => { throw new Error('db down') })
  await app.ready()

  const token = app.jwt.sign({ sub: 'user-7' })
  const response = await app.inject({ url: '/orders', headers: { ...API, authorization: `Bearer ${token}`, 'x-tenant': 'acme' } })
  t.equal(response.statusCode, 500)
  t.notMatch(response.body, /user-7|acme/, 'the context is for reporters, never in the response')
  await arrived(1)
  t.same(reports[0].context, { userId: 'user-7', tenant: 'acme' })
  t.ok(Object.isFrozen(reports[0].context), 'reporters share it: frozen')
})

t.test('an async reportContext is awaited before the reporters run, never before the response', async (t) => {
  let answered = false
  const { app, reports, arrived } = await reporting({
    reportContext: async (request) => {
      await sleep(30)
      t.ok(answered, 'the response went out while the context was still being gathered')
      return { plan: 'gold', path: request.url }
    }
  })
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('crash') })
  const response = await app.inject({ url: '/crash', headers: API })
  answered = true
  t.equal(response.statusCode, 500)
  t.equal(reports.length, 0, 'the reporters wait for the context')
  await arrived(1)
  t.same(reports[0].context, { plan: 'gold', path: '/crash' })
})

t.test("an error's context() is merged in; the app's reportContext wins a clash", async (t) => {
  const { app, reports, arrived } = await reporting({ reportContext: () => ({ userId: 'from the app' }) })
  t.teardown(() => app.close())
  app.get('/pay', () => { throw new PaymentFailed(42, 'card declined') })
  // An HTTP exception of the app's that carries its own context.
  class OutOfCredit extends PaymentRequired {
    context (): Record<string, unknown> { return { credit: 0 } }
  }
  app.get('/credit', () => { throw new OutOfCredit('no credit left') })
  await app.inject('/pay')
  await arrived(1)
  t.same(reports[0].context, { orderId: 42, reason: 'card declined', userId: 'from the app' })
  t.equal(Object.keys(reports[0].context)[2], 'userId', 'fields keep their first place; the value is the app\'s')

  // reportWhen decides which errors are reported at all; a 402 is one when asked for.
  const { app: app2, reports: reports2, arrived: arrived2 } = await reporting({ reportWhen: [402] })
  t.teardown(() => app2.close())
  app2.get('/credit', () => { throw new OutOfCredit('no credit left') })
  t.equal((await app2.inject('/credit')).statusCode, 402)
  await arrived2(1)
  t.same(reports2[0].context, { credit: 0 }, 'context() without a reportContext option')
})

t.test('a failing handler: the handled error\'s context, then the failure\'s over it', async (t) => {
  class HandlerBug extends Error {
    context (): Record<string, unknown> { return { reason: 'template missing', stage: 'handler' } }
  }
  const { app, reports, arrived } = await reporting()
  t.teardown(() => app.close())
  app.registerErrorHandler(PaymentFailed, () => { throw new HandlerBug('handler broke') })
  app.get('/pay', () => { throw new PaymentFailed(7, 'expired card') })
  t.equal((await app.inject({ url: '/pay', headers: API })).statusCode, 500)
  await arrived(1)
  t.type(reports[0].error, InternalServerError)
  t.same(reports[0].context, { orderId: 7, reason: 'template missing', userId: 'from the error', stage: 'handler' })
})

t.test('no context: report.context is an empty frozen object; only reported errors are asked', async (t) => {
  const calls: unknown[] = []
  const { app, reports, arrived } = await reporting({ reportContext: (request, error) => { calls.push(error); return undefined } })
  t.teardown(() => app.close())
  app.get('/ok', () => 'fine')
  app.get('/missing', (request, reply) => reply.abort(404))
  app.get('/crash', () => { throw new Error('crash') })
  app.get('/data', () => { throw Object.assign(new Error('has a context field'), { context: { not: 'a method' } }) })
  t.equal((await app.inject('/ok')).statusCode, 200)
  t.equal((await app.inject('/missing')).statusCode, 404)
  t.equal((await app.inject('/nowhere')).statusCode, 404)
  t.equal(calls.length, 0, 'not on success, not for errors that are not reported (4xx by default)')
  await app.inject('/crash')
  await app.inject('/data')
  await arrived(2)
  t.equal(calls.length, 2)
  t.equal(calls[0], reports[0].error, 'given the reported error')
  t.same(reports[0].context, {})
  t.ok(Object.isFrozen(reports[0].context))
  t.same(reports[1].context, {}, 'a `context` that is data, not a method, is not the convention')

  const { app: plain, reports: plainReports, arrived: plainArrived } = await reporting()
  t.teardown(() => plain.close())
  plain.get('/crash', () => { throw new Error('crash') })
  await plain.inject('/crash')
  await plainArrived(1)
  t.same(plainReports[0].context, {}, 'without reportContext too')
  t.equal(plainReports[0].traceId, undefined, 'no span: no trace id')
})

t.test('a reportContext that throws, rejects, hangs or returns a non-object is logged once and left out', async (t) => {
  const cases: Array<{ name: string, reportContext: NonNullable<FlaskErrorsOptions['reportContext']>, message: RegExp }> = [
    { name: 'throws', reportContext: () => { throw new Error('no session store') }, message: /^reportContext threw; the report of GET \/crash\?token=\[masked\] goes out without it$/ },
    { name: 'rejects', reportContext: async () => { throw new Error('no session store') }, message: /^reportContext rejected; the report of GET \/crash\?token=\[masked\] goes out without it$/ },
    { name: 'hangs', reportContext: async () => await new Promise(() => {}), message: /^reportContext did not settle within 200 ms \(reportTimeout\); the report of/ },
    { name: 'a list', reportContext: () => ['user-7'] as unknown as Record<string, unknown>, message: /^reportContext returned array\(1\), not a plain object such as \{ userId: 42 \}; the report/ },
    { name: 'a string', reportContext: () => 'user-7' as unknown as Record<string, unknown>, message: /^reportContext returned "user-7", not a plain object/ },
    { name: 'a class instance', reportContext: () => new URL('https://x.test') as unknown as Record<string, unknown>, message: /^reportContext returned URL object, not a plain object/ },
    { name: 'an async list', reportContext: async () => [1] as unknown as Record<string, unknown>, message: /^reportContext returned array\(1\)/ }
  ]
  for (const { name, reportContext, message } of cases) {
    const { app, logs, reports, arrived } = await reporting({ reportContext, reportTimeout: 200 })
    t.teardown(() => app.close())
    app.get('/crash', () => { throw new PaymentFailed(1, 'x') })
    const started = Date.now()
    const response = await app.inject({ url: '/crash?token=abc', headers: API })
    t.equal(response.statusCode, 500, `${name}: the response is sound`)
    t.ok(Date.now() - started < 150, `${name}: and not delayed`)
    await arrived(1)
    t.same(reports[0].context, { orderId: 1, reason: 'x', userId: 'from the error' }, `${name}: the report goes out, with the error's context`)
    const lines = contextLines(logs)
    t.equal(lines.length, 1, `${name}: one line`)
    t.match(lines[0]?.msg, message, name)
    t.equal(lines[0]?.level, LEVEL.error)
    t.equal(lines[0]?.reqId, response.json().requestId, `${name}: on the request's log`)
  }
})

t.test("an error's context() that fails is logged by the error's class name", async (t) => {
  class Flaky extends Error {
    context (): Record<string, unknown> { throw new Error('context broke') }
  }
  class Guarded extends Error {
    get context (): never { throw new Error('no access') }
  }
  class Lazy extends Error {
    async context (): Promise<Record<string, unknown>> { return { lazy: true } }
  }
  const { app, logs, reports, arrived } = await reporting({ reportContext: () => ({ userId: 1 }) })
  t.teardown(() => app.close())
  app.get('/flaky', () => { throw new Flaky('x') })
  app.get('/lazy', () => { throw new Lazy('y') })
  app.get('/guarded', () => { throw new Guarded('z') })
  // Thrown values that are not objects have no context() to ask; the app's context still comes.
  app.get('/string', () => { throw 'a string' }) // eslint-disable-line no-throw-literal -- the point
  app.get('/null', () => { throw null }) // eslint-disable-line no-throw-literal -- the point
  await app.inject('/flaky')
  await app.inject('/lazy')
  await app.inject('/guarded')
  await arrived(3)
  t.same(reports[2].context, { userId: 1 }, 'a `context` getter that throws: the error has no context to give')

  await app.inject('/string')
  await app.inject('/null')
  await arrived(5)
  t.same([reports[3].error, reports[3].context], ['a string', { userId: 1 }])
  t.same([reports[4].error, reports[4].context], [null, { userId: 1 }])
  t.same(reports[0].context, { userId: 1 }, 'the app\'s context still goes out')
  t.match(contextLines(logs)[0], { msg: 'Flaky.context() threw; the report of GET /flaky goes out without it', err: { message: 'context broke' } })
  t.same(reports[1].context, { lazy: true, userId: 1 }, 'an async context() is awaited like an async reportContext')
})

t.test('the context is bounded: fields, depth, string length and total size', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, i]))
  const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } }
  const cycle: Record<string, unknown> = { name: 'loop' }
  cycle.self = cycle
  let given: Record<string, unknown> = {}
  const { app, reports, arrived } = await reporting({ reportContext: () => given })
  t.teardown(() => app.close())
  // A distinct message per URL: a repeat of one error would only be counted for the window's summary.
  app.get('/:n', (request) => { throw new Error(`crash ${(request.params as { n: string }).n}`) })

  given = { many }
  await app.inject('/1')
  await arrived(1)
  const kept = reports[0].context.many as Record<string, unknown>
  t.equal(Object.keys(kept).length, 51, '50 fields and a marker')
  t.equal(kept['…'], '150 more fields left out')

  given = { list: Array.from({ length: 80 }, (_, i) => i), deep, cycle, long: 'x'.repeat(5000), deepList: [[[[[1]]]]] }
  await app.inject('/2')
  await arrived(2)
  const context = reports[1].context
  t.equal((context.list as unknown[]).length, 51)
  t.equal((context.list as unknown[])[50], '…[30 more items]')
  t.same(context.deep, { a: { b: { c: { d: '[object nested deeper than 4 levels]' } } } })
  t.same(context.deepList, [[[['[list nested deeper than 4 levels]']]]])
  t.match(JSON.stringify(context.cycle), /"self":\{"name":"loop","self":\{"name":"loop","self":\{"name":"loop","self":"\[object nested deeper/, 'a cycle ends at the depth limit')
  t.equal(context.long, `${'x'.repeat(1024)}…[3976 more characters]`)
  t.ok(Object.isFrozen(context.list) && Object.isFrozen(context.deep) && Object.isFrozen((context.deep as { a: object }).a), 'frozen all the way down')

  given = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, 'y'.repeat(1000)]))
  await app.inject('/3')
  await arrived(3)
  const size = JSON.stringify(reports[2].context).length
  t.ok(size < 10 * 1024, `40 KB given, ${size} characters kept`)
  t.match(reports[2].context['…'], /^\d+ more fields left out$/)

  given = { n: 10n ** 30n, when: new Date('2024-05-01T10:00:00Z'), bad: new Date(NaN), fn: function lookup () {}, sym: Symbol('s'), err: new TypeError('nested'), map: new Map([[1, 2]]), nothing: null, undef: undefined }
  await app.inject('/4')
  await arrived(4)
  t.same(reports[3].context, {
    n: '1000000000000000000000000000000',
    when: '2024-05-01T10:00:00.000Z',
    bad: 'Invalid Date',
    fn: '[function lookup]',
    sym: '[Symbol(s)]',
    err: 'TypeError: nested',
    map: '[Map object]',
    nothing: null,
    undef: undefined
  }, 'JSON-safe values: what an error service can serialise')
  t.doesNotThrow(() => JSON.stringify(reports[3].context))
})

t.test('hostile values: throwing getters, proxies and __proto__ fields are read safely', async (t) => {
  const getter = { ok: 1, get broken (): never { throw new Error('getter') } }
  const revocable = Proxy.revocable({}, {})
  revocable.revoke()
  const noKeys = new Proxy({}, { ownKeys () { throw new Error('keys') } })
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}') as Record<string, unknown>
  let given: unknown
  const { app, logs, reports, arrived } = await reporting({ reportContext: () => given as Record<string, unknown> })
  t.teardown(() => app.close())
  // A distinct message per URL: a repeat of one error would only be counted for the window's summary.
  app.get('/:n', (request) => { throw new Error(`crash ${(request.params as { n: string }).n}`) })

  const dateProxy = new Proxy(new Date(), {})
  const badList = new Proxy([1, 2], { get () { throw new Error('list') } })
  given = { getter, revoked: revocable.proxy, noKeys, parsed, dateProxy, badList }
  await app.inject('/1')
  await arrived(1)
  const context = reports[0].context
  t.same(context.getter, { ok: 1, broken: '[unreadable]' })
  t.equal(context.revoked, '[unreadable]')
  t.equal(context.dateProxy, '[unreadable]', 'a Proxy of a Date: its methods throw')
  t.same(context.badList, ['[unreadable]'], 'a list whose length cannot be read')
  t.same(context.noKeys, { '…': '[unreadable]' }, 'a proxy whose fields cannot be listed')
  const copy = context.parsed as Record<string, unknown>
  t.same(Object.keys(copy), ['__proto__', 'plain'], '__proto__ is a field like any other')
  t.equal(Object.getPrototypeOf(copy), Object.prototype, 'and sets no prototype')
  t.equal(({} as Record<string, unknown>).polluted, undefined)

  given = noKeys
  await app.inject('/2')
  await arrived(2)
  t.same(reports[1].context, {})
  t.match(contextLines(logs).at(-1), {
    msg: 'reportContext returned an object whose fields cannot be listed; the report of GET /2 goes out without it',
    err: { message: 'keys' }
  })

  given = new Proxy({}, { getPrototypeOf () { throw new Error('prototype') } })
  await app.inject('/3')
  await arrived(3)
  t.same(reports[2].context, {})
  t.match(contextLines(logs).at(-1)?.msg, /^reportContext returned .*, not a plain object such as \{ userId: 42 \}; the report of GET \/3/,
    'an object whose prototype cannot be read is no plain object')

  given = { get then (): never { throw new Error('then') }, userId: 1 }
  await app.inject('/4')
  await arrived(4)
  t.same(reports[3].context, { then: '[unreadable]', userId: 1 }, 'a throwing `then` getter makes no promise of it')
})

t.test('secrets are masked by name at any depth, with the app\'s redact names too', async (t) => {
  const { app, reports, arrived } = await reporting({
    redact: { headers: ['x-tenant-key'], query: [/^otp/i] },
    reportContext: () => ({
      userId: 7,
      password: 'hunter2',
      accessToken: 'tok',
      apiKey: 'k',
      sessionId: 's',
      cookie: 'c',
      nested: { user: { passphrase: 'p', name: 'ada' }, credentials: { user: 'u', pass: 'p' } },
      list: [{ secret: 's', id: 1 }],
      'x-tenant-key': 'tk',
      otpCode: '123456',
      author: 'ada',
      code: 'ERR_PAYMENT',
      key: 'k2'
    })
  })
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('crash') })
  await app.inject('/crash')
  await arrived(1)
  t.same(reports[0].context, {
    userId: 7,
    password: '[masked]',
    accessToken: '[masked]',
    apiKey: '[masked]',
    sessionId: '[masked]',
    cookie: '[masked]',
    nested: { user: { passphrase: '[masked]', name: 'ada' }, credentials: '[masked]' },
    list: [{ secret: '[masked]', id: 1 }],
    'x-tenant-key': '[masked]',
    otpCode: '[masked]',
    author: 'ada',
    code: 'ERR_PAYMENT',
    key: '[masked]'
  })
  t.notMatch(JSON.stringify(reports[0].context), /hunter2|tok"|"tk"|123456/)
})

t.test('a summary of repeats carries the last occurrence\'s context', async (t) => {
  let n = 0
  const { app, reports, arrived } = await reporting({ reportContext: async () => ({ attempt: ++n }) })
  app.get('/crash', () => { throw new Error('same error') })
  for (let i = 0; i < 3; i++) await app.inject('/crash')
  await arrived(1)
  await app.close()
  t.equal(reports.length, 2)
  t.same([reports[0].count, reports[0].context], [1, { attempt: 1 }])
  t.same([reports[1].count, reports[1].context], [2, { attempt: 3 }], 'the summary: the last one\'s')
})

t.test('reportContext must be a function, given where the plugin is first registered', async (t) => {
  for (const value of ['userId', { userId: 1 }, 42]) {
    const app = Fastify()
    t.teardown(() => app.close())
    const refused = await app.register(flaskErrors, { reportContext: value as never }).then(() => undefined, (error: unknown) => error)
    t.type(refused, FFE_INVALID_OPTION)
    t.match(refused, {
      code: 'FFE_INVALID_OPTION',
      message: /reportContext must be a function \(request, error\) => \(\{ userId: request\.user\?\.id \}\) returning a plain object \(or a promise of one\), got /
    }, `refused: ${String(value)}`)
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  await t.rejects(async () => {
    await app.register(async (child) => { await child.register(flaskErrors, { reportContext: () => ({}) }) })
  }, { message: /reportContext can only be set where the plugin is first registered/ })
})
